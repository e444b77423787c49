/** What `destinations/destinations` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { PURPOSES } from '../core/consent';
import {
  DESTINATION_TYPES,
  destinationBodySchema,
  destinationIdSchema,
  filterSchema,
} from '../core/destinations/definition';
import { replayBodySchema } from '../core/destinations/replay';
import { ok, page } from '../core/response-schemas';
import type { Contract } from '../http/operations';

const destinationSchema = z.object({
  destinationId: z.string(),
  type: z.enum(DESTINATION_TYPES),
  enabled: z.boolean(),
  filter: filterSchema,
  settings: z.record(z.string(), z.unknown()),
  consentPurpose: z.enum(PURPOSES),
  audiences: z.array(z.string()),
  /** Which credential fields are stored; their values are never shown. */
  credentialFields: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const params = { destinationId: destinationIdSchema };

const replaySchema = z.object({
  replayId: z.string(),
  from: z.string(),
  to: z.string(),
  cursor: z.string(),
  enqueued: z.int(),
  status: z.enum(['running', 'done', 'failed']),
  createdAt: z.string(),
  finishedAt: z.optional(z.string()),
  error: z.optional(z.string()),
});

export const contract = {
  putDestination: {
    params,
    body: destinationBodySchema,
    responses: {
      200: {
        description: 'The destination (replaced)',
        schema: z.extend(destinationSchema, { warnings: z.optional(z.array(z.string())) }),
      },
      201: {
        description:
          'The destination (created); a webhook created without a signing secret answers the one generated, this once',
        schema: z.extend(destinationSchema, {
          signingSecret: z.optional(z.string()),
          /** What was saved but not set up at the vendor (HubSpot properties during an outage): save again to retry. */
          warnings: z.optional(z.array(z.string())),
        }),
      },
    },
  },
  listDestinations: { responses: ok('Destinations', page(destinationSchema)) },
  getDestination: { params, responses: ok('The destination', destinationSchema) },
  deleteDestination: { params, responses: { 204: { description: 'Deleted, with its credentials' } } },
  destinationStatus: {
    params,
    responses: ok(
      'Delivery status',
      z.object({
        destinationId: z.string(),
        enabled: z.boolean(),
        delivered: z.int(),
        retrying: z.int(),
        dead: z.int(),
        consentDropped: z.int(),
        /** Audience messages never sent because the membership moved past them (docs/destinations.md). */
        superseded: z.int(),
        /** Seconds the oldest waiting message is overdue (0 when nothing is). */
        lagSeconds: z.number(),
        lastDeliveredAt: z.optional(z.string()),
        paused: z.optional(z.object({ at: z.string(), reason: z.string() })),
        consecutiveFailures: z.int(),
        lastErrors: z.array(z.object({ at: z.string(), error: z.string() })),
        replays: z.array(replaySchema),
      }),
    ),
  },
  resumeDestination: { params, responses: ok('Resumed: the breaker is closed') },
  replayDestination: {
    params,
    body: replayBodySchema,
    responses: {
      202: { description: 'The replay, advanced by the redrive slice by slice', schema: replaySchema },
    },
  },
} satisfies Contract<'destinations/destinations'>;
