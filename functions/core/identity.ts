/**
 * `identify`: an anonymous id (a device, a cookie) belongs to a known user. It travels the
 * stream like any event — partition key the user id, so it is ordered with the user's events —
 * and the consumer records the link and merges the profiles once. Pure.
 */
import * as z from 'zod/mini';
import { type CanonicalEvent, type DoorContext, derivedEventId } from './envelope';
import { CHANNELS } from './events';

const id = z.string().check(z.minLength(1), z.maxLength(256));

export const identifySchema = z
  .object({
    anonymousId: id,
    userId: id,
    /** Accepted for SDK compatibility; not stored (data minimisation). */
    traits: z.optional(z.record(z.string(), z.unknown())),
    channel: z.optional(z.enum(CHANNELS)),
    eventId: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    timestamp: z.optional(z.iso.datetime({ offset: true })),
    consentToken: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  })
  .check(
    z.refine((b) => b.anonymousId !== b.userId, {
      message: 'An id cannot be linked to itself',
      path: ['anonymousId'],
    }),
  );
export type IdentifyBody = z.infer<typeof identifySchema>;

/** The canonical identify event; its id is derived from the link, so a repeat is one event. */
export const identifyEvent = (body: IdentifyBody, ctx: DoorContext): CanonicalEvent => {
  const at = ctx.receivedAtIso ?? ctx.receivedAt.toISOString();
  const channel = body.channel ?? ctx.sourceChannel;
  return {
    v: 1,
    eventId:
      body.eventId ??
      derivedEventId(ctx.sourceId, { type: 'identify', anonymousId: body.anonymousId, userId: body.userId }),
    type: 'identify',
    personKey: body.userId,
    userId: body.userId,
    anonymousId: body.anonymousId,
    deviceType: 'other',
    ...(channel !== undefined && { channel }),
    data: {},
    properties: {},
    timestamp: at,
    receivedAt: at,
    eventTime: at,
    sourceId: ctx.sourceId,
    door: ctx.door,
  };
};
