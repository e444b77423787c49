/** What `service/health` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  health: { responses: ok('The stream and every table answer', z.looseObject({ status: z.string() })) },
} satisfies Contract<'service/health'>;
