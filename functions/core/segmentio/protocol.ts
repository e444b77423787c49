/**
 * Segment's HTTP Tracking API as Pulse accepts it: the calls (`/v1/track`, `/v1/t`…), the message
 * types, Segment's size limits, and the zod schemas of messages and batches — what Segment's API
 * accepts, no more strictly (unknown fields pass and are not kept). Pure.
 */
import * as z from 'zod/mini';
import { FIELD_LIMITS, isIsoTime, isoTimeSchema, LIMITS, propertiesSchema } from '../events';
import { present } from './message-fields';

/** Segment's own limits: 32 KB per message, 500 KB per request (decompressed). */
/**
 * Segment's own limits: 32 KB per message, 500 KB per request (decompressed); and, Pulse's own, at
 * most 500 messages a batch (the /api batch's limit, the PutRecords ceiling): Segment sets no count,
 * but 500 KB of tiny messages would be thousands of quarantine writes and rate-limit units in one
 * request. The SDKs send far fewer (analytics-node flushes at 15, the mobile SDKs at 20 to 100), and
 * JSON nested deeper than `messageDepth` is refused before anything serialises it.
 */
export const SEGMENT_LIMITS = {
  messageBytes: 32 * 1024,
  requestBytes: 500 * 1024,
  batchMessages: LIMITS.batchEvents,
  messageDepth: 32,
} as const;

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** `/v1/<call>` → the message type it takes; `batch` (and analytics.js/mobile `b`) take a batch. */
export const SEGMENT_CALLS = {
  track: 'track',
  t: 'track',
  identify: 'identify',
  i: 'identify',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  alias: 'alias',
  a: 'alias',
  group: 'group',
  g: 'group',
  batch: 'batch',
  b: 'batch',
} as const satisfies Record<string, SegmentType | 'batch'>;
export type SegmentCall = keyof typeof SEGMENT_CALLS;

export const isSegmentCall = (call: string): call is SegmentCall => Object.hasOwn(SEGMENT_CALLS, call);

/** Segment ids are strings; some server libraries send numbers, taken as their decimal form. */
const segmentId = z.union([z.string().check(z.maxLength(FIELD_LIMITS.personId)), z.number()]);
const optionalId = z.optional(z.nullable(segmentId));
/** Segment's times are the event contract's ISO-8601 date-times. */
const segmentTime = isoTimeSchema;
const optionalTime = z.optional(z.nullable(segmentTime));

/** A batch-level time as UTC ISO, or undefined when it is not one Pulse can read. */
export const segmentTimeOf = (v: unknown): string | undefined =>
  typeof v === 'string' && isIsoTime(v) ? new Date(v).toISOString() : undefined;
const optionalText = z.optional(z.nullable(z.string()));
const properties = z.optional(z.nullable(propertiesSchema));

const commonFields = {
  /** The dedup key: every Segment library sets one. */
  messageId: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(1024)))),
  userId: optionalId,
  anonymousId: optionalId,
  /** When it happened, as the device's clock or the server library's caller says. */
  timestamp: optionalTime,
  /** The device's time of the call, when `timestamp` was set by someone else. */
  originalTimestamp: optionalTime,
  /** When the device sent it: with the receipt time, corrects the device's clock skew. */
  sentAt: optionalTime,
  /** Read for campaign, device, os, library and consent; `ip` and the rest are never stored. */
  context: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  /** Segment's destination switches: ignored (Pulse is the destination). */
  integrations: z.optional(z.unknown()),
  /** analytics.js sends it in every message; it authenticates a request only at the body's top. */
  writeKey: z.optional(z.string()),
};

const typeFields = {
  track: { event: z.string().check(z.minLength(1), z.maxLength(128)), properties },
  page: { name: optionalText, category: optionalText, properties },
  screen: { name: optionalText, category: optionalText, properties },
  /** Declared traits are set on the person (functions/core/traits.ts); others are dropped. */
  identify: { traits: z.optional(z.unknown()) },
  alias: { previousId: segmentId },
  group: { groupId: segmentId, traits: z.optional(z.unknown()) },
} as const satisfies Record<SegmentType, Record<string, z.ZodMiniType>>;

const hasPerson = z.refine<{ userId?: unknown; anonymousId?: unknown }>(
  (m) => present(m.userId) || present(m.anonymousId),
  { message: 'userId or anonymousId is required', path: ['userId'] },
);
const aliasHasUser = z.refine<{ userId?: unknown }>((m) => present(m.userId), {
  message: 'Required: the id previousId becomes',
  path: ['userId'],
});

const messageSchema = <T extends SegmentType>(type: T, typeRequired: boolean) =>
  z
    .object({
      type: typeRequired ? z.literal(type) : z.optional(z.literal(type)),
      ...commonFields,
      ...typeFields[type],
    })
    .check(type === 'alias' ? aliasHasUser : hasPerson);

/** One message per single-message route (`/v1/track`…): the type is the route's. */
export const segmentMessageSchemas = Object.fromEntries(
  SEGMENT_TYPES.map((t) => [t, messageSchema(t, false)]),
) as { [T in SegmentType]: ReturnType<typeof messageSchema<T>> };

/** One message of a batch: `type` says which. */
export const segmentBatchMessageSchema = z.discriminatedUnion(
  'type',
  SEGMENT_TYPES.map((t) => messageSchema(t, true)) as unknown as [z.ZodMiniObject, ...z.ZodMiniObject[]],
);

/**
 * `/v1/batch` and `/v1/b`. `context` and `integrations` at the top apply to every message (the
 * message's own keys win); `sentAt` is the time the device sent the batch; `writeKey` is how
 * analytics.js and the mobile SDKs authenticate.
 */
export const segmentBatchSchema = z.object({
  batch: z.array(segmentBatchMessageSchema),
  sentAt: optionalTime,
  writeKey: z.optional(z.string()),
  context: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  integrations: z.optional(z.unknown()),
});

export type SegmentMessage = {
  type?: SegmentType;
  messageId?: string | null;
  userId?: string | number | null;
  anonymousId?: string | number | null;
  timestamp?: string | null;
  originalTimestamp?: string | null;
  sentAt?: string | null;
  context?: Record<string, unknown> | null;
  event?: string;
  name?: string | null;
  properties?: Record<string, unknown> | null;
  previousId?: string | number;
  groupId?: string | number;
  traits?: unknown;
};
