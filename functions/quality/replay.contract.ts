/** What `quality/replay` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { isoTimeSchema } from '../core/events';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const replayBodySchema = z.object({
  /** Entries received at or after this time… */
  from: isoTimeSchema,
  /** …and before this one. */
  to: isoTimeSchema,
  /** Only entries whose reason contains this text (e.g. `tracking plan`). */
  reason: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  /** Where a replay cut short by its time budget stopped: send it back to go on. */
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

const reportSchema = z.object({
  from: z.string(),
  to: z.string(),
  scanned: z.int(),
  replayed: z.int(),
  stillRejected: z.int(),
  /** Why the still-rejected ones still are, with how many (reasons name fields, never values). */
  reasons: z.array(z.object({ reason: z.string(), count: z.int() })),
  eventIds: z.array(z.string()),
  nextCursor: z.optional(z.string()),
});

export const contract = {
  replayQuarantine: {
    body: replayBodySchema,
    responses: ok(
      'The replay report: entries replayed (put back on the stream with their original event ids) and still rejected, by reason; nextCursor when the time budget ran out first',
      reportSchema,
    ),
  },
} satisfies Contract<'quality/replay'>;
