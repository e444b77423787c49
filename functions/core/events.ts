/**
 * The event contract: the one home of what an engagement event is. Client schemas (one zod
 * schema per type, as `/api/engagement/*` takes them), the shared field schemas every door uses
 * (ids, campaign, times), the canonical envelope the stream carries and the one builder that
 * stamps its version. The envelope's type-specific fields are derived from the per-type fields
 * here, so a field added to a type reaches the stream without a second list to update.
 * These schemas are also the OpenAPI document's source.
 */

import * as z from 'zod/mini';
import { jsonHazard } from './json';
import type { FieldError } from './problem';
import { type ParseResult, parseWith } from './zod';

export const LIMITS = {
  eventBytes: 32 * 1024,
  bodyBytes: 1024 * 1024,
  batchEvents: 500,
  propertiesKeys: 100,
  propertiesDepth: 5,
  propertyStringLength: 8 * 1024,
  futureSkewMs: 24 * 3600 * 1000,
} as const;

export const EVENT_TYPES = ['click', 'view', 'share', 'video-play', 'conversion', 'custom'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const DEVICE_TYPES = ['mobile', 'tablet', 'desktop', 'tv', 'other'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];
export const CHANNELS = ['web', 'ios', 'android', 'email', 'server'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Lengths of the fields every door shares. Ids end up inside DynamoDB keys (1,024-byte sort keys,
 * 2,048-byte partition keys), so these bounds also keep every key a client can reach valid.
 */
export const FIELD_LIMITS = {
  eventId: 100,
  personId: 256,
  campaignId: 128,
  experimentId: 128,
  variant: 64,
  consentToken: 4096,
} as const;

/** A non-empty string of at most `max` characters. */
export const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** ISO-8601 date-time with `Z` or an offset; the calendar check is Date.parse's. */
export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)$/i;
export const isIsoTime = (s: string): boolean => ISO_TIME.test(s) && !Number.isNaN(Date.parse(s));
export const isoTimeSchema = z
  .string()
  .check(z.refine(isIsoTime, 'Expected an ISO-8601 date-time with offset or Z'));
const isoTime = isoTimeSchema;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
/**
 * Printable, well-formed text: no control characters, and surrogates only in pairs (a lone
 * surrogate has no UTF-8 form, so DynamoDB would refuse the key). One regex: this runs for every
 * id of every event on the ingest hot path.
 */
export const PRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  /^(?:[^\u0000-\u001f\u007f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
/**
 * An id: 1..max characters of printable, well-formed text. At most 4 bytes a character, so a
 * 256-character id stays within DynamoDB's 1,024-byte sort keys.
 */
export const idText = (max: number) =>
  text(max).check(z.regex(PRINTABLE, 'Expected printable text (no control characters)'));

/** The shared field schemas: every door validates these fields with these. */
export const personIdSchema = idText(FIELD_LIMITS.personId);
export const campaignIdSchema = idText(FIELD_LIMITS.campaignId);
export const eventIdSchema = idText(FIELD_LIMITS.eventId);
export const experimentIdFieldSchema = idText(FIELD_LIMITS.experimentId);
export const variantFieldSchema = idText(FIELD_LIMITS.variant);
export const consentTokenSchema = text(FIELD_LIMITS.consentToken);
const nonNegative = z.number().check(z.gte(0), z.lte(1e12));

/** Free-form event properties: JSON, no prototype keys, bounded width and depth. */
export const propertiesSchema = z.record(z.string(), z.unknown()).check(
  z.superRefine((value, ctx) => {
    const hazard = jsonHazard(value, {
      maxDepth: LIMITS.propertiesDepth,
      maxKeys: LIMITS.propertiesKeys,
      maxStringLength: LIMITS.propertyStringLength,
    });
    if (hazard) ctx.issues.push({ code: 'custom', message: hazard.message, input: value, path: hazard.path });
  }),
);

export const commonFields = {
  eventId: z.optional(eventIdSchema),
  userId: z.optional(personIdSchema),
  anonymousId: z.optional(personIdSchema),
  campaignId: campaignIdSchema,
  timestamp: isoTime,
  sentAt: z.optional(isoTime),
  /** Optional since the edge parses the user agent: `other` when neither says (docs/data-quality.md). */
  deviceType: z.optional(z.enum(DEVICE_TYPES)),
  channel: z.optional(z.enum(CHANNELS)),
  experimentId: z.optional(experimentIdFieldSchema),
  variant: z.optional(variantFieldSchema),
  properties: z.optional(propertiesSchema),
  consentToken: z.optional(consentTokenSchema),
};

/** Fields each type adds to the common ones. */
export const typeFields = {
  click: { elementId: text(256) },
  view: { pageId: z.optional(text(256)), screen: z.optional(text(256)) },
  share: { network: text(64) },
  'video-play': {
    videoId: text(256),
    positionSec: z.optional(nonNegative),
    durationSec: z.optional(nonNegative),
  },
  conversion: {
    value: z.optional(z.number().check(z.gte(-1e12), z.lte(1e12))),
    currency: z.optional(z.string().check(z.regex(/^[A-Z]{3}$/, 'ISO-4217 code, e.g. EUR'))),
    conversionType: z.optional(text(64)),
  },
  custom: { name: text(128) },
} as const satisfies Record<EventType, Record<string, z.ZodMiniType>>;

const hasPerson = z.refine<{ userId?: string; anonymousId?: string }>(
  (e) => e.userId !== undefined || e.anonymousId !== undefined,
  { message: 'userId or anonymousId is required', path: ['userId'] },
);

/** Schema of one event of a given type (the type is known from the path). */
export const eventSchemas = Object.fromEntries(
  EVENT_TYPES.map((type) => [
    type,
    z.object({ type: z.optional(z.literal(type)), ...commonFields, ...typeFields[type] }).check(hasPerson),
  ]),
) as unknown as { [T in EventType]: z.ZodMiniType<ClientEventOf<T>> };

/** Schema of one event in a batch: `type` required, then the type's schema. */
export const batchEventSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((type) =>
    z.object({ type: z.literal(type), ...commonFields, ...typeFields[type] }).check(hasPerson),
  ) as unknown as [z.ZodMiniObject, ...z.ZodMiniObject[]],
);

const commonObject = z.object(commonFields);
/** The fields every door's event has (campaign required here: it is this door's rule). */
export type CommonFields = z.infer<typeof commonObject>;
export type TypeFieldsOf<T extends EventType> = {
  [K in keyof (typeof typeFields)[T]]: z.infer<(typeof typeFields)[T][K]>;
};
export type ClientEventOf<T extends EventType> = CommonFields & { type?: T } & TypeFieldsOf<T>;
export type ClientEvent = { [T in EventType]: ClientEventOf<T> & { type: T } }[EventType];

export const isEventType = (t: string): t is EventType => (EVENT_TYPES as readonly string[]).includes(t);

/** Validate one event; `type` from the path for the single-event door, else from the event. */
export const parseClientEvent = (
  input: unknown,
  pathType?: EventType,
  prefix: readonly PropertyKey[] = [],
): ParseResult<ClientEvent> => {
  if (pathType === undefined) return parseWith(batchEventSchema, input, prefix) as ParseResult<ClientEvent>;
  const result = parseWith(eventSchemas[pathType] as z.ZodMiniType<ClientEventOf<EventType>>, input, prefix);
  return result.ok ? { ok: true, value: { ...result.value, type: pathType } as ClientEvent } : result;
};

export type { FieldError };

// ---- the canonical envelope ------------------------------------------------------------------

/**
 * Type-specific fields the envelope keeps in `data`: every field of every type above, derived,
 * so none can be added to a type and silently dropped on the way to the stream.
 */
export type DataField = { [T in EventType]: keyof (typeof typeFields)[T] }[EventType];
export const DATA_FIELDS: readonly DataField[] = [
  ...new Set(Object.values(typeFields).flatMap((fields) => Object.keys(fields))),
] as DataField[];

export const ENVELOPE_VERSION = 1;

/** Engagement types plus the ones other doors put on the stream (identify, exposure). */
export type CanonicalType = EventType | 'identify' | 'exposure';

/**
 * Which door an event came through: `/api/engagement`, `/v1`, a tracked link, a promotion,
 * identify, or the trait jobs — a bulk import, a CRM connector (docs/traits.md).
 */
export type Door = 'api' | 'segment' | 'link' | 'promotion' | 'identify' | 'import' | 'connector';

/** One versioned envelope on the stream, whichever door an event came through. */
export interface CanonicalEvent {
  v: typeof ENVELOPE_VERSION;
  eventId: string;
  type: CanonicalType;
  /** `userId` when known, else `anonymousId`: the stream partition key and per-person key. */
  personKey: string;
  userId?: string;
  anonymousId?: string;
  campaignId?: string;
  experimentId?: string;
  variant?: string;
  channel?: Channel;
  deviceType: DeviceType;
  /** Parsed from the user agent at the edge (never the string itself): OS and browser names. */
  os?: string;
  browser?: string;
  /** ISO 3166-1 alpha-2 country of the request (a trusted header or a database; never the address). */
  country?: string;
  /**
   * A bot's: `agent` marked at the edge by its user agent; `behaviour` only ever set by the
   * consumer on its own copy (an id sending far faster than a person), never on the stream.
   */
  bot?: 'agent' | 'behaviour';
  /** Campaign source, medium, content and term from UTM parameters (functions/core/edge). */
  utm?: { source?: string; medium?: string; content?: string; term?: string };
  /** Type-specific fields (DATA_FIELDS: elementId, videoId, value, …) and a door's own (placement, goal). */
  data: Record<string, unknown>;
  properties: Record<string, unknown>;
  /** Device clock, as sent. */
  timestamp: string;
  sentAt?: string;
  /** When Pulse received it (server clock). */
  receivedAt: string;
  /** Skew-corrected time of the event: what buckets and horizons use. */
  eventTime: string;
  sourceId: string;
  door: Door;
}

export const personKeyOf = (e: { userId?: string | undefined; anonymousId?: string | undefined }): string =>
  (e.userId ?? e.anonymousId) as string;

/** The one builder of canonical events: stamps the envelope version. */
export const canonicalEvent = (fields: Omit<CanonicalEvent, 'v'>): CanonicalEvent => ({
  v: ENVELOPE_VERSION,
  ...fields,
});

/**
 * An event a door makes itself at receipt (identify, exposure, a link click): no device clock,
 * so its device, receipt and event times are all the receipt time. Absent optional fields stay
 * absent (the envelope never carries `undefined`).
 */
export const doorEvent = (
  fields: Omit<CanonicalEvent, 'v' | 'personKey' | 'timestamp' | 'receivedAt' | 'eventTime' | 'sentAt'> & {
    personKey?: string;
  },
  at: Date | string,
): CanonicalEvent => {
  const iso = typeof at === 'string' ? at : at.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return canonicalEvent({
    ...(out as Omit<CanonicalEvent, 'v' | 'personKey' | 'timestamp' | 'receivedAt' | 'eventTime'>),
    personKey: fields.personKey ?? personKeyOf(fields),
    timestamp: iso,
    receivedAt: iso,
    eventTime: iso,
  });
};
