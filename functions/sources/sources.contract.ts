/** What `sources/sources` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { pageQuerySchema } from '../core/query';
import { ok, page, sourceSchema } from '../core/response-schemas';
import { newSourceSchema, sourceIdSchema } from '../core/sources';
import type { Contract } from '../http/operations';

export const contract = {
  createSource: {
    body: newSourceSchema,
    responses: {
      201: {
        description:
          'The source, with its write key and, for a client source, its identity-verification secret (both shown this once)',
        schema: z.extend(sourceSchema, { writeKey: z.string(), identitySecret: z.optional(z.string()) }),
      },
    },
  },
  listSources: { query: pageQuerySchema, responses: ok('Sources, never their keys', page(sourceSchema)) },
  deleteSource: { params: { sourceId: sourceIdSchema }, responses: ok('The revoked source', sourceSchema) },
} satisfies Contract<'sources/sources'>;
