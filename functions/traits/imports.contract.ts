/** What `traits/imports` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { importBodySchema } from '../core/imports';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const importIdSchema = z
  .string()
  .check(z.regex(/^imp_[A-Za-z0-9_-]{10,40}$/, 'Expected an import id (imp_…)'));

export const contract = {
  createImport: {
    body: importBodySchema,
    responses: {
      201: { description: 'The job, and the presigned URL to PUT the file to (valid for an hour)' },
    },
  },
  getImport: {
    params: { importId: importIdSchema },
    responses: ok('The job: status, rows applied, rows rejected with line numbers and reasons'),
  },
} satisfies Contract<'traits/imports'>;
