/** What `archive/exports` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { jobStateSchema, queryIdSchema } from '../analytics/analytics.contract';
import { exportRequestSchema } from '../core/analytics';
import type { Contract } from '../http/operations';

export const contract = {
  createExport: {
    body: exportRequestSchema,
    responses: {
      202: {
        description: 'The export runs; poll its URL',
        schema: z.object({ exportId: z.string(), status: jobStateSchema }),
      },
    },
  },
  getExport: {
    params: { exportId: queryIdSchema },
    responses: {
      200: {
        description: 'Status, and presigned URLs of the files once it succeeded',
        schema: z.looseObject({
          exportId: z.string(),
          status: jobStateSchema,
          request: z.looseObject({ format: z.string() }),
          files: z.optional(z.array(z.object({ url: z.string(), key: z.string(), bytes: z.int() }))),
          expiresAt: z.optional(z.string()),
          error: z.optional(z.string()),
        }),
      },
    },
  },
} satisfies Contract<'archive/exports'>;
