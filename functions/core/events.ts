/**
 * The engagement event as clients send it to `/api/engagement/*`: one zod schema per type, the
 * limits of API.md, and a validator that reports every offending field by its dotted path.
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

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
/** ISO-8601 date-time with `Z` or an offset; the calendar check is Date.parse's. */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)$/i;
const isoTime = z
  .string()
  .check(
    z.refine(
      (s: string) => ISO_TIME.test(s) && !Number.isNaN(Date.parse(s)),
      'Expected an ISO-8601 date-time with offset or Z',
    ),
  );
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
  eventId: z.optional(text(100)),
  userId: z.optional(text(256)),
  anonymousId: z.optional(text(256)),
  campaignId: text(128),
  timestamp: isoTime,
  sentAt: z.optional(isoTime),
  deviceType: z.enum(DEVICE_TYPES),
  channel: z.optional(z.enum(CHANNELS)),
  experimentId: z.optional(text(128)),
  variant: z.optional(text(64)),
  properties: z.optional(propertiesSchema),
  consentToken: z.optional(text(4096)),
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

/** The fields every door's event has (campaign required here: it is this door's rule). */
export type CommonFields = {
  eventId?: string;
  userId?: string;
  anonymousId?: string;
  campaignId: string;
  timestamp: string;
  sentAt?: string;
  deviceType: DeviceType;
  channel?: Channel;
  experimentId?: string;
  variant?: string;
  properties?: Record<string, unknown>;
  consentToken?: string;
};
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
