/** What `ingest/engagement` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { batchEventSchema, EVENT_TYPES, eventSchemas, LIMITS } from '../core/events';
import { acceptedSchema, partialSchema } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  trackOne: {
    // An unknown type names no route of the API: 404.
    params: { type: z.enum(EVENT_TYPES) },
    notFoundParams: ['type'],
    body: z.union(EVENT_TYPES.map((t) => eventSchemas[t]) as unknown as [z.ZodMiniType, ...z.ZodMiniType[]]),
    // Ingest validates per event: a 413 over the size limit, 403 for consent, 400 with paths.
    bodyValidation: 'handler',
    responses: { 202: { description: 'The event is in the stream', schema: acceptedSchema } },
  },
  trackBatch: {
    body: z.object({
      events: z.array(batchEventSchema).check(z.minLength(1), z.maxLength(LIMITS.batchEvents)),
    }),
    // Events are accepted or rejected one by one (207), and a batch too large is a 413.
    bodyValidation: 'handler',
    responses: {
      202: { description: 'Every event is in the stream', schema: acceptedSchema },
      207: {
        description: 'The valid events are in the stream; the others are rejected by index',
        schema: partialSchema,
      },
    },
  },
} satisfies Contract<'ingest/engagement'>;
