/**
 * The Segment door (`/v1/*`): Segment's HTTP Tracking API messages (zod schemas) and their
 * mapping to Pulse's canonical event, so `@segment/analytics-node`, analytics.js and the
 * Segment/RudderStack mobile SDKs can send to Pulse unchanged. Pure: the handler adds auth, the
 * stream write and the quarantine. docs/segment.md is the user-facing form of the table below.
 *
 * | Segment message                                  | Pulse type   | type-specific fields (first present wins)                         |
 * |--------------------------------------------------|--------------|-------------------------------------------------------------------|
 * | track "Product Clicked"                          | `click`      | elementId ← product_id, sku                                       |
 * | track "Promotion Clicked"                        | `click`      | elementId ← promotion_id, creative, name                          |
 * | track "Email Link Clicked"                       | `click`      | elementId ← link_id                                               |
 * | page                                             | `view`       | pageId ← name, properties.name, properties.path                   |
 * | screen                                           | `view`       | screen ← name, properties.name                                    |
 * | track "Product Viewed"                           | `view`       | pageId ← product_id, sku                                          |
 * | track "Product List Viewed"                      | `view`       | pageId ← list_id, category                                        |
 * | track "Promotion Viewed"                         | `view`       | pageId ← promotion_id, creative, name                             |
 * | track "Product Shared", "Cart Shared"            | `share`      | network ← share_via                                               |
 * | track "Video Playback Started"                   | `video-play` | videoId ← video_id, content_asset_id, asset_id, content_asset_ids[0]; positionSec ← position; durationSec ← total_length |
 * | track "Order Completed"                          | `conversion` | value ← revenue, total, value; currency; conversionType `order`   |
 * | track "Signed Up"                                | `conversion` | conversionType `signup`                                           |
 * | group                                            | `custom`     | name `group`; properties `{groupId}` (traits are not stored)      |
 * | any other track                                  | `custom`     | name ← event                                                      |
 * | identify (userId and anonymousId)                | `identify`   | the link anonymousId → userId                                     |
 * | alias (previousId → userId)                      | `identify`   | the link previousId → userId                                      |
 *
 * Event names match case-insensitively, `_` as a space ("product_clicked" is "Product Clicked").
 * A Pulse-only field the Spec's properties do not supply stays empty: a valid Spec message is
 * never rejected for lacking one. Every other property stays in `properties`.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { type DoorContext, derivedEventId, type EnvelopeInput } from './envelope';
import { type Channel, type DeviceType, type EventType, propertiesSchema } from './events';
import { type Accepted, admitEvent, prefixed, type Rejection } from './ingest';
import type { FieldError, ProblemCode } from './problem';
import { parseWith } from './zod';

/** Segment's own limits: 32 KB per message, 500 KB per request (decompressed). */
export const SEGMENT_LIMITS = { messageBytes: 32 * 1024, requestBytes: 500 * 1024 } as const;

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

// ---------------------------------------------------------------------------------------------
// Schemas: what Segment's API accepts, no more strictly (unknown fields pass and are not kept).

/** Segment ids are strings; some server libraries send numbers, taken as their decimal form. */
const segmentId = z.union([z.string().check(z.maxLength(256)), z.number()]);
const optionalId = z.optional(z.nullable(segmentId));
const SEGMENT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)$/i;
const segmentTime = z
  .string()
  .check(
    z.refine(
      (s: string) => SEGMENT_TIME.test(s) && !Number.isNaN(Date.parse(s)),
      'Expected an ISO-8601 date-time with offset or Z',
    ),
  );
const optionalTime = z.optional(z.nullable(segmentTime));

/** A batch-level time as UTC ISO, or undefined when it is not one Pulse can read. */
export const segmentTimeOf = (v: unknown): string | undefined =>
  typeof v === 'string' && SEGMENT_TIME.test(v) && !Number.isNaN(Date.parse(v))
    ? new Date(v).toISOString()
    : undefined;
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
  /** Traits are accepted and not stored (data minimisation: Pulse keeps behaviour, not profiles). */
  identify: { traits: z.optional(z.unknown()) },
  alias: { previousId: segmentId },
  group: { groupId: segmentId, traits: z.optional(z.unknown()) },
} as const satisfies Record<SegmentType, Record<string, z.ZodMiniType>>;

const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

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
};

// ---------------------------------------------------------------------------------------------
// Mapping

type Props = Record<string, unknown>;

const at = (obj: unknown, ...path: string[]): unknown => {
  let v = obj;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Props)[key];
  }
  return v;
};

/** A string field of at most `max` characters (numbers in their decimal form), else undefined. */
const textOf = (v: unknown, max: number): string | undefined => {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  return s.length > 0 && s.length <= max ? s : undefined;
};
const firstText = (max: number, ...values: unknown[]): string | undefined => {
  for (const v of values) {
    const s = textOf(v, max);
    if (s !== undefined) return s;
  }
  return undefined;
};
/** A number, or a numeric string as some SDKs send amounts; else undefined. */
const numberOf = (v: unknown, min: number, max: number): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
};
const firstNumber = (min: number, max: number, ...values: unknown[]): number | undefined => {
  for (const v of values) {
    const n = numberOf(v, min, max);
    if (n !== undefined) return n;
  }
  return undefined;
};
const currencyOf = (v: unknown): string | undefined =>
  typeof v === 'string' && /^[A-Za-z]{3}$/.test(v.trim()) ? v.trim().toUpperCase() : undefined;

const ID = 256;
const TIME_MAX = 1e12;

interface SpecMapping {
  type: EventType;
  fields: (p: Props) => Record<string, unknown>;
}

/** Segment Spec event names (normalised: lower case, `_` as space) → Pulse type and fields. */
export const SPEC_EVENTS: Readonly<Record<string, SpecMapping>> = {
  'product clicked': { type: 'click', fields: (p) => ({ elementId: firstText(ID, p.product_id, p.sku) }) },
  'promotion clicked': {
    type: 'click',
    fields: (p) => ({ elementId: firstText(ID, p.promotion_id, p.creative, p.name) }),
  },
  'email link clicked': { type: 'click', fields: (p) => ({ elementId: firstText(ID, p.link_id) }) },
  'product viewed': { type: 'view', fields: (p) => ({ pageId: firstText(ID, p.product_id, p.sku) }) },
  'product list viewed': { type: 'view', fields: (p) => ({ pageId: firstText(ID, p.list_id, p.category) }) },
  'promotion viewed': {
    type: 'view',
    fields: (p) => ({ pageId: firstText(ID, p.promotion_id, p.creative, p.name) }),
  },
  'product shared': { type: 'share', fields: (p) => ({ network: firstText(64, p.share_via) }) },
  'cart shared': { type: 'share', fields: (p) => ({ network: firstText(64, p.share_via) }) },
  'video playback started': {
    type: 'video-play',
    fields: (p) => ({
      videoId: firstText(
        ID,
        p.video_id,
        p.content_asset_id,
        p.asset_id,
        Array.isArray(p.content_asset_ids) ? p.content_asset_ids[0] : undefined,
      ),
      positionSec: firstNumber(0, TIME_MAX, p.position),
      durationSec: firstNumber(0, TIME_MAX, p.total_length),
    }),
  },
  'order completed': {
    type: 'conversion',
    fields: (p) => ({
      value: firstNumber(-TIME_MAX, TIME_MAX, p.revenue, p.total, p.value),
      currency: currencyOf(p.currency),
      conversionType: 'order',
    }),
  },
  'signed up': { type: 'conversion', fields: () => ({ conversionType: 'signup' }) },
};

export const normaliseEventName = (name: string): string =>
  name
    .trim()
    .toLowerCase()
    .replace(/[_\s]+/g, ' ');

/**
 * `context.device.type` → Pulse device type. Segment's mobile SDKs put the platform there
 * (`ios`, `android`): a phone unless the model says tablet. Anything unknown is `other`.
 */
export const deviceTypeOf = (context: unknown): DeviceType => {
  const type = textOf(at(context, 'device', 'type'), 64)?.toLowerCase();
  const model = textOf(at(context, 'device', 'model'), 128)?.toLowerCase() ?? '';
  if (type === undefined) return 'other';
  if (['tablet', 'ipad', 'ipados'].includes(type)) return 'tablet';
  if (['ios', 'android', 'mobile', 'phone', 'smartphone', 'iphone'].includes(type))
    return /ipad|tablet|\btab\b/.test(model) ? 'tablet' : 'mobile';
  if (['desktop', 'computer', 'pc', 'laptop', 'macos', 'mac', 'windows', 'linux'].includes(type))
    return 'desktop';
  if (
    ['tv', 'smarttv', 'smart-tv', 'tvos', 'androidtv', 'android tv', 'firetv', 'roku', 'ctv'].includes(type)
  )
    return 'tv';
  return 'other';
};

const LIBRARY_CHANNELS: readonly [RegExp, Channel][] = [
  [/analytics\.js|analytics-next|javascript|browser|\bweb\b/, 'web'],
  [/android|kotlin/, 'android'],
  [/\bios\b|analytics-ios|swift|rudder-ios/, 'ios'],
  [/node|python|ruby|analytics-go|java|php|\.net|csharp|rust|server|http/, 'server'],
];

/**
 * Channel from `context.os.name` (cross-platform libraries such as React Native say the platform
 * there), else from `context.library.name`; undefined leaves the source's channel.
 */
export const channelOf = (context: unknown): Channel | undefined => {
  const os = textOf(at(context, 'os', 'name'), 64)?.toLowerCase();
  if (os === 'ios' || os === 'ipados' || os === 'iphone os') return 'ios';
  if (os === 'android') return 'android';
  const library = textOf(at(context, 'library', 'name'), 128)?.toLowerCase();
  if (library === undefined) return undefined;
  return LIBRARY_CHANNELS.find(([re]) => re.test(library))?.[1];
};

const idOf = (v: unknown): string | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v !== '' ? v : undefined;

/** Message ids longer than Pulse's event ids keep their identity through a hash. */
const eventIdOf = (messageId: string): string =>
  messageId.length <= 100
    ? messageId
    : `m-${createHash('sha256').update(messageId).digest('base64url').slice(0, 32)}`;

/** The parts of a message that say what happened: a retry (new sentAt, retry metadata) keeps them. */
const stableContent = (m: SegmentMessage, type: SegmentType) => ({
  type,
  userId: idOf(m.userId),
  anonymousId: idOf(m.anonymousId),
  event: m.event,
  name: m.name,
  properties: m.properties,
  timestamp: m.originalTimestamp ?? m.timestamp,
  previousId: m.previousId,
  groupId: m.groupId,
});

export interface Mapped {
  input: EnvelopeInput;
  /** Accepted and checked, but nothing to put on the stream (an identify that links nothing). */
  noop: boolean;
  /** Which message field the device time came from, to name it in a time error. */
  timeField: 'originalTimestamp' | 'timestamp' | 'sentAt' | undefined;
}

/** Field errors of Pulse-only properties (campaign, experiment), which are validated, not guessed. */
const pulseFieldErrors = (p: Props): FieldError[] => {
  const errors: FieldError[] = [];
  const check = (key: string, max: number) => {
    if (p[key] !== undefined && textOf(p[key], max) === undefined)
      errors.push({ path: `properties.${key}`, message: `Expected a string of 1..${max} characters` });
  };
  check('campaignId', 128);
  check('experimentId', 128);
  check('variant', 64);
  return errors;
};

/**
 * A validated message → the envelope's input. `batchSentAt` is the batch's `sentAt`, used for the
 * messages that carry none of their own (the mobile SDKs stamp only the batch).
 */
export const mapSegmentMessage = (
  m: SegmentMessage,
  type: SegmentType,
  ctx: Pick<DoorContext, 'sourceId' | 'receivedAt' | 'receivedAtIso'>,
  batchSentAt?: string,
): { ok: true; mapped: Mapped } | { ok: false; errors: FieldError[] } => {
  const context = m.context ?? {};
  const props: Props = m.properties ?? {};
  const errors = type === 'identify' || type === 'alias' ? [] : pulseFieldErrors(props);
  if (errors.length > 0) return { ok: false, errors };

  const sentAt = m.sentAt ?? batchSentAt ?? undefined;
  const device = m.originalTimestamp ?? m.timestamp ?? undefined;
  const timeField = present(m.originalTimestamp)
    ? 'originalTimestamp'
    : present(m.timestamp)
      ? 'timestamp'
      : present(sentAt)
        ? 'sentAt'
        : undefined;
  const userId = idOf(m.userId);
  let anonymousId = idOf(m.anonymousId);
  const input: EnvelopeInput = {
    type: 'custom',
    eventId:
      typeof m.messageId === 'string'
        ? eventIdOf(m.messageId)
        : derivedEventId(ctx.sourceId, stableContent(m, type)),
    timestamp: device ?? sentAt ?? ctx.receivedAtIso ?? ctx.receivedAt.toISOString(),
    deviceType: deviceTypeOf(context),
    properties: props,
  };
  if (sentAt) input.sentAt = sentAt;
  const channel = channelOf(context);
  if (channel) input.channel = channel;

  let noop = false;
  switch (type) {
    case 'identify':
    case 'alias': {
      // An identify links an anonymous id to a user; alias links any earlier id (previousId) to
      // the user. With only one id (or the same twice) there is no link to record.
      if (type === 'alias') anonymousId = idOf(m.previousId);
      input.type = 'identify';
      input.properties = {};
      noop = userId === undefined || anonymousId === undefined || userId === anonymousId;
      break;
    }
    case 'page':
      input.type = 'view';
      input.pageId = firstText(ID, m.name, props.name, props.path);
      break;
    case 'screen':
      input.type = 'view';
      input.screen = firstText(ID, m.name, props.name);
      break;
    case 'group':
      // Accounts are not a Pulse concept: the call is kept as a custom event of the person.
      input.type = 'custom';
      input.name = 'group';
      input.properties = { groupId: idOf(m.groupId) };
      break;
    case 'track': {
      const spec = SPEC_EVENTS[normaliseEventName(m.event as string)];
      if (spec) {
        input.type = spec.type;
        const fields = input as Record<string, unknown>;
        for (const [k, v] of Object.entries(spec.fields(props))) if (v !== undefined) fields[k] = v;
      } else {
        input.type = 'custom';
        input.name = m.event;
      }
      break;
    }
  }
  if (userId !== undefined) input.userId = userId;
  if (anonymousId !== undefined) input.anonymousId = anonymousId;
  if (input.type !== 'identify') {
    // An explicit campaign beats the one from the landing page's UTM parameters.
    const campaignId = textOf(props.campaignId, 128) ?? textOf(at(context, 'campaign', 'name'), 128);
    if (campaignId !== undefined) input.campaignId = campaignId;
    const experimentId = textOf(props.experimentId, 128);
    const variant = textOf(props.variant, 64);
    if (experimentId !== undefined) input.experimentId = experimentId;
    if (variant !== undefined) input.variant = variant;
  }
  return { ok: true, mapped: { input, noop, timeField } };
};

// ---------------------------------------------------------------------------------------------
// One message through the door

/** Accepted but not put on the stream (see Mapped.noop). */
export interface NoOp {
  noop: true;
  index: number;
  eventId: string;
}
export type SegmentOutcome = Accepted | Rejection | NoOp;

export const isNoOp = (o: SegmentOutcome): o is NoOp => 'noop' in o;
export const isSegmentRejection = (o: SegmentOutcome): o is Rejection => 'code' in o && 'index' in o;

const isPlainObject = (v: unknown): v is Props => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface SegmentMessageOptions {
  /** The route's type for single-message routes; undefined in a batch (each message says). */
  type?: SegmentType;
  /** Error paths' prefix: `batch.3.` in a batch. */
  prefix: string;
  /** The batch's `sentAt` and `context` (merged under each message's own). */
  batch?: { sentAt?: string; context?: Props };
}

/** Byte size of a message as sent, counted only when it could be near the limit. */
const overLimit = (raw: unknown): boolean => {
  const json = JSON.stringify(raw) ?? '';
  return (
    json.length > SEGMENT_LIMITS.messageBytes / 3 && Buffer.byteLength(json) > SEGMENT_LIMITS.messageBytes
  );
};

/**
 * One Segment message → an accepted canonical event, a no-op, or a rejection naming its fields.
 * The same checks as the /api door, in the same order: schema, personal data in properties,
 * time window, consent.
 */
export const ingestSegmentMessage = (
  raw: unknown,
  index: number,
  ctx: DoorContext,
  options: SegmentMessageOptions,
): SegmentOutcome => {
  const messageId = isPlainObject(raw) && typeof raw.messageId === 'string' ? raw.messageId : undefined;
  const reject = (code: ProblemCode, errors: FieldError[]): Rejection => ({
    index,
    ...(messageId !== undefined && { eventId: messageId }),
    code,
    errors: prefixed(errors, options.prefix),
  });
  if (!isPlainObject(raw))
    return reject('validation_failed', [{ path: '', message: 'Expected a message object' }]);
  if (overLimit(raw))
    return reject('payload_too_large', [
      { path: '', message: `Message exceeds ${SEGMENT_LIMITS.messageBytes} bytes` },
    ]);

  const type = options.type ?? raw.type;
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type))
    return reject('validation_failed', [
      { path: 'type', message: `Expected one of ${SEGMENT_TYPES.join(', ')}` },
    ]);
  if (raw.type != null && raw.type !== type)
    return reject('validation_failed', [{ path: 'type', message: `Expected ${type} on this route` }]);

  const batchContext = options.batch?.context;
  const message = {
    ...raw,
    type,
    ...(batchContext &&
      (raw.context == null || isPlainObject(raw.context)) && {
        context: { ...batchContext, ...(raw.context as Props | null | undefined) },
      }),
  };
  const parsed = parseWith(
    segmentMessageSchemas[type as SegmentType] as z.ZodMiniType<SegmentMessage>,
    message,
  );
  if (!parsed.ok) return reject('validation_failed', parsed.errors);

  const mapped = mapSegmentMessage(parsed.value, type as SegmentType, ctx, options.batch?.sentAt);
  if (!mapped.ok) return reject('validation_failed', mapped.errors);
  const { input, noop, timeField } = mapped.mapped;

  const token = at(parsed.value.context, 'consent', 'token');
  const admitted = admitEvent(input, ctx, typeof token === 'string' ? token : undefined);
  if (!admitted.ok) {
    // Name the fields as the Segment message has them.
    if (admitted.stage === 'time')
      return reject(
        admitted.code,
        admitted.errors.map((e) => (e.path === 'timestamp' && timeField ? { ...e, path: timeField } : e)),
      );
    if (admitted.stage === 'consent')
      return reject(
        admitted.code,
        admitted.errors.map((e) => ({
          path: 'context.consent.token',
          message:
            admitted.code === 'consent_required'
              ? 'A consent token granting analytics is required (context.consent.token or X-Consent-Token)'
              : e.message,
        })),
      );
    return reject(admitted.code, admitted.errors);
  }
  const canonical = admitted;
  if (noop) return { noop: true, index, eventId: canonical.event.eventId };
  return { event: canonical.event, json: JSON.stringify(canonical.event) };
};

// ---------------------------------------------------------------------------------------------
// Quarantine and settings

/** Every person a rejected message names (user, anonymous, previous id): erasure of any finds it. */
export const personKeysOfMessage = (raw: unknown): string[] => {
  if (!isPlainObject(raw)) return [];
  return [raw.userId, raw.anonymousId, raw.previousId].flatMap((v) => {
    const s = idOf(v);
    return s !== undefined && s.length <= ID ? [s] : [];
  });
};

/**
 * A rejected message as the quarantine keeps it: without what Pulse never stores (the IP
 * address, traits) and without the consent token (a bearer credential).
 */
export const quarantinePayload = (raw: unknown): string => {
  if (!isPlainObject(raw)) return JSON.stringify(raw) ?? 'null';
  const { traits: _traits, writeKey: _writeKey, ...rest } = raw;
  if (isPlainObject(rest.context)) {
    const { ip: _ip, consent, ...context } = rest.context;
    if (isPlainObject(consent)) {
      const { token: _token, ...keptConsent } = consent;
      rest.context = { ...context, consent: keptConsent };
    } else rest.context = consent === undefined ? context : { ...context, consent };
  }
  return JSON.stringify(rest);
};

/** Where a rejected message's quarantine entry sits: the same message (a retry) is one entry. */
export const quarantinePosition = (raw: unknown, sourceId: string): string =>
  isPlainObject(raw) && typeof raw.messageId === 'string' && raw.messageId.length <= 200
    ? `m:${raw.messageId}`
    : `h:${derivedEventId(sourceId, raw)}`;

export const rejectionReason = (r: Rejection): string =>
  `${r.code}: ${r.errors.map((e) => `${e.path || '(message)'} ${e.message}`).join('; ')}`.slice(0, 1000);

/**
 * The settings document the Segment SDKs fetch at start (`/v1/projects/{writeKey}/settings`):
 * the Segment.io destination pointed back at this Pulse (`apiHost` is host + `/v1`, the SDKs
 * add `/b`, `/t`…), empty tracking plan and edge function, and telemetry off (sampleRate 0) so
 * no SDK reports to Segment's own metrics host.
 */
export const segmentSettings = (writeKey: string, host: string, protocol: 'http' | 'https') => ({
  integrations: {
    'Segment.io': {
      apiKey: writeKey,
      apiHost: `${host}/v1`,
      protocol,
      unbundledIntegrations: [],
      addBundledMetadata: true,
      maybeBundledConfigIds: {},
    },
  },
  plan: { track: { __default: { enabled: true, integrations: {} } }, identify: {}, group: {} },
  edgeFunction: {},
  middlewareSettings: {},
  enabledMiddleware: {},
  analyticsNextEnabled: true,
  legacyVideoPluginsEnabled: false,
  remotePlugins: [],
  metrics: { sampleRate: 0 },
});
