/** What `privacy/privacy` takes and answers (see functions/http/operations.ts). */
import { personIdSchema } from '../core/events';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  eraseUser: { params: { userId: personIdSchema }, responses: ok('What was erased, by store') },
  exportUser: { params: { userId: personIdSchema }, responses: ok('Every personal record, by store') },
} satisfies Contract<'privacy/privacy'>;
