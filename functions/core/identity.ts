/**
 * `identify`: an anonymous id (a device, a cookie) belongs to a known user. It travels the
 * stream like any event — partition key the user id, so it is ordered with the user's events —
 * and the consumer records the link and merges the profiles once. Pure.
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

export const identifySchema = z
  .object({
    anonymousId: personIdSchema,
    userId: personIdSchema,
    /** Accepted for SDK compatibility; not stored (data minimisation). */
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
  );
export type IdentifyBody = z.infer<typeof identifySchema>;

/** The canonical identify event; its id is derived from the link, so a repeat is one event. */
export const identifyEvent = (body: IdentifyBody, ctx: DoorContext): CanonicalEvent =>
  doorEvent(
    {
      eventId:
        body.eventId ??
        derivedEventId(ctx.sourceId, {
          type: 'identify',
          anonymousId: body.anonymousId,
          userId: body.userId,
        }),
      type: 'identify',
      userId: body.userId,
      anonymousId: body.anonymousId,
      deviceType: 'other',
      channel: body.channel ?? ctx.sourceChannel,
      data: {},
      properties: {},
      sourceId: ctx.sourceId,
      door: ctx.door,
    },
    ctx.receivedAtIso ?? ctx.receivedAt,
  );
