/** What `service/openapi` takes and answers (see functions/http/operations.ts). */
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  openapi: { responses: ok('This document') },
} satisfies Contract<'service/openapi'>;
