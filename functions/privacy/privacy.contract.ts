/** What `privacy/privacy` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { DESTINATION_TYPES } from '../core/destinations/definition';
import { personIdSchema } from '../core/events';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  eraseUser: { params: { userId: personIdSchema }, responses: ok('What was erased, by store') },
  exportUser: { params: { userId: personIdSchema }, responses: ok('Every personal record, by store') },
  getErasure: {
    params: { erasureId: z.uuid() },
    responses: ok(
      "Each destination's deletion request: requested, delivered, failed or skipped, with the vendor's answer",
      z.object({
        erasureId: z.string(),
        destinations: z.array(
          z.object({
            destinationId: z.string(),
            type: z.enum(DESTINATION_TYPES),
            status: z.enum(['requested', 'delivered', 'failed', 'skipped']),
            attempts: z.int(),
            requestedAt: z.string(),
            settledAt: z.optional(z.string()),
            answer: z.optional(z.string()),
          }),
        ),
      }),
    ),
  },
} satisfies Contract<'privacy/privacy'>;
