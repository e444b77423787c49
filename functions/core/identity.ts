/**
 * `identify`: an anonymous id (a device, a cookie) belongs to a known user, and/or the person's
 * declared traits (functions/core/traits.ts) are set. It travels the stream like any event —
 * partition key the user id, so it is ordered with the user's events — and the consumer records
 * the link, merges the profiles once and sets the traits on the person. Pure.
 */
import * as z from 'zod/mini';
import { type DoorContext, derivedEventId } from './envelope';
import {
  type CanonicalEvent,
  CHANNELS,
  consentTokenSchema,
  doorEvent,
  eventIdSchema,
  isoTimeSchema,
  personIdSchema,
} from './events';
import type { TraitChanges } from './traits';

export const identifySchema = z
  .object({
    /** Optional when traits are given: an identify may only set the user's traits. */
    anonymousId: z.optional(personIdSchema),
    userId: personIdSchema,
    /** Declared traits are set on the person; undeclared ones are ignored (and named in the answer). */
    traits: z.optional(z.record(z.string(), z.unknown())),
    channel: z.optional(z.enum(CHANNELS)),
    eventId: z.optional(eventIdSchema),
    timestamp: z.optional(isoTimeSchema),
    consentToken: z.optional(consentTokenSchema),
  })
  .check(
    z.refine((b) => b.anonymousId !== b.userId, {
      message: 'An id cannot be linked to itself',
      path: ['anonymousId'],
    }),
    z.refine((b) => b.anonymousId !== undefined || b.traits !== undefined, {
      message: 'Give anonymousId (a link), traits, or both',
      path: ['anonymousId'],
    }),
  );
export type IdentifyBody = z.infer<typeof identifySchema>;

/**
 * The canonical identify event. Sent without an id, its id is derived from the link, the traits as
 * checked and, when it sets traits, its time (the client's `timestamp`, else the receipt): a repeat
 * of a link is one event, and so is a client's retry of a timestamped update, but a trait set back
 * to an earlier value (pro → free → pro) is a new event, not a repeat of the first.
 */
export const identifyEvent = (
  body: IdentifyBody,
  ctx: DoorContext,
  traits?: TraitChanges,
): CanonicalEvent => {
  const setsTraits = traits !== undefined && Object.keys(traits).length > 0;
  const at = body.timestamp ?? ctx.receivedAtIso ?? ctx.receivedAt.toISOString();
  return doorEvent(
    {
      eventId:
        body.eventId ??
        derivedEventId(ctx.sourceId, {
          type: 'identify',
          anonymousId: body.anonymousId,
          userId: body.userId,
          ...(setsTraits && { traits, at }),
        }),
      type: 'identify',
      userId: body.userId,
      anonymousId: body.anonymousId,
      deviceType: 'other',
      channel: body.channel ?? ctx.sourceChannel,
      data: setsTraits ? { traits } : {},
      properties: {},
      sourceId: ctx.sourceId,
      door: ctx.door,
    },
    ctx.receivedAtIso ?? ctx.receivedAt,
  );
};
