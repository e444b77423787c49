/** What `analytics/analytics` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { analysisRequestSchema } from '../core/analytics';
import type { Contract } from '../http/operations';

/** Athena's query execution ids (and the local engine's) are UUIDs. */
export const queryIdSchema = z
  .string()
  .check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'Expected a query id'));

export const jobStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export const contract = {
  startAnalysis: {
    body: analysisRequestSchema,
    responses: {
      202: {
        description: 'The query runs; poll its URL',
        schema: z.object({ queryId: z.string(), status: jobStateSchema }),
      },
    },
  },
  getAnalysis: {
    params: { queryId: queryIdSchema },
    responses: {
      200: {
        description: 'Status, and the result once it succeeded',
        schema: z.looseObject({
          queryId: z.string(),
          status: jobStateSchema,
          request: z.looseObject({ analysis: z.string() }),
          result: z.optional(z.looseObject({ analysis: z.string() })),
          error: z.optional(z.string()),
          bytesScanned: z.optional(z.number()),
        }),
      },
    },
  },
} satisfies Contract<'analytics/analytics'>;
