/**
 * Enrichment of events into the canonical envelope (the contract is functions/core/events.ts):
 * pure. The door supplies what it knows (source, receipt time); this module fixes the person
 * key, the event id, and the skew-corrected time buckets use, and decodes stream records back.
 */
import { createHash } from 'node:crypto';
import type { ConsentClaims } from './consent';
import { deviceTypeFor, type EdgeContext, type EdgeHints, enrichEvent, PLAIN_EDGE } from './edge/enrich';
import {
  type CanonicalEvent,
  type CanonicalType,
  type Channel,
  type ClientEvent,
  type CommonFields,
  canonicalEvent,
  DATA_FIELDS,
  type DataField,
  type Door,
  ENVELOPE_VERSION,
  LIMITS,
  personKeyOf,
} from './events';
import { stableStringify } from './json';
import type { PiiMode } from './pii';
import type { FieldError } from './problem';
import type { TraitContext } from './traits';

export interface DoorContext {
  sourceId: string;
  /** Channel of the source, used when the event names none. */
  sourceChannel?: Channel;
  receivedAt: Date;
  /** receivedAt.toISOString(), computed once per request rather than per event. */
  receivedAtIso?: string;
  horizonDays: number;
  door: Door;
  /** When consent is required: the key tokens are checked with, and the request's header token. */
  consent?: { key: Uint8Array; headerToken?: string; verified?: Map<string, ConsentClaims | undefined> };
  /** What to do with personal data in properties (data minimisation). */
  pii?: { mode: PiiMode; key?: Uint8Array };
  /** Enrichment at the edge (user agent, country, UTM attribution, bots, tracking plans). */
  edge?: EdgeContext;
  /** Trait declarations (and the key for hashed ones), loaded when the request sets traits. */
  traits?: TraitContext;
}

/**
 * Segment's clock-skew correction: `receivedAt − (sentAt − timestamp)`. The device's own
 * delay between the event and its sending is kept; its clock's offset is dropped. A negative
 * delay (sent before it happened) is a broken clock, taken as zero.
 */
export const correctedTime = (timestamp: Date, sentAt: Date | undefined, receivedAt: Date): Date => {
  if (sentAt === undefined) return timestamp;
  const delay = Math.max(0, sentAt.getTime() - timestamp.getTime());
  return new Date(receivedAt.getTime() - delay);
};

/** Errors for events too far in the future or older than the horizon, by skew-corrected time. */
export const timeErrors = (eventTime: Date, receivedAt: Date, horizonDays: number): FieldError[] => {
  const delta = eventTime.getTime() - receivedAt.getTime();
  if (delta > LIMITS.futureSkewMs) return [{ path: 'timestamp', message: 'More than 24 h in the future' }];
  if (-delta > horizonDays * 86_400_000)
    return [{ path: 'timestamp', message: `Older than the ${horizonDays}-day horizon` }];
  return [];
};

/**
 * The id of an event sent without one: a hash of its content and source, so a client retry
 * of the same event maps to the same id and is counted once.
 */
export const derivedEventId = (sourceId: string, event: unknown): string =>
  `d-${createHash('sha256').update(sourceId).update('\n').update(stableStringify(event)).digest('base64url').slice(0, 32)}`;

/**
 * What the envelope is built from: a validated client event of `/api/engagement/*`, or an event
 * another door has already mapped to these fields (Segment's messages, an identify): the
 * campaign stays optional here because requiring one is a door's rule, not the envelope's.
 */
export type EnvelopeInput = Omit<CommonFields, 'campaignId'> & {
  type: CanonicalType;
  campaignId?: string;
  /** What the message says about its edge (user agent, address, page URL): used, never stored. */
  hints?: EdgeHints;
} & { [F in DataField]?: unknown };

/** A validated or mapped event → the canonical envelope, or the time errors that reject it. */
export const toCanonical = (
  event: ClientEvent | EnvelopeInput,
  ctx: DoorContext,
): { ok: true; event: CanonicalEvent } | { ok: false; errors: FieldError[] } => {
  const timestamp = new Date(event.timestamp);
  const sentAt = event.sentAt === undefined ? undefined : new Date(event.sentAt);
  const eventTime = correctedTime(timestamp, sentAt, ctx.receivedAt);
  const errors = timeErrors(eventTime, ctx.receivedAt, ctx.horizonDays);
  if (errors.length > 0) return { ok: false, errors };

  // Built by assignment, not spreads: this runs once per event on the ingest hot path.
  const fields = event as unknown as Record<string, unknown>;
  const hints = 'hints' in event ? event.hints : undefined;
  const data: Record<string, unknown> = {};
  for (const f of DATA_FIELDS) if (fields[f] !== undefined) data[f] = fields[f];
  const out = canonicalEvent({
    eventId: event.eventId ?? derivedEventId(ctx.sourceId, withoutConsentToken(event)),
    type: event.type,
    personKey: personKeyOf(event),
    campaignId: event.campaignId,
    deviceType: deviceTypeFor(event.deviceType, ctx.edge, hints),
    data,
    properties: event.properties ?? {},
    timestamp: isoOf(timestamp, event.timestamp),
    receivedAt: ctx.receivedAtIso ?? ctx.receivedAt.toISOString(),
    eventTime: sentAt === undefined ? isoOf(timestamp, event.timestamp) : eventTime.toISOString(),
    sourceId: ctx.sourceId,
    door: ctx.door,
  });
  if (event.userId !== undefined) out.userId = event.userId;
  if (event.anonymousId !== undefined) out.anonymousId = event.anonymousId;
  if (event.experimentId !== undefined) out.experimentId = event.experimentId;
  if (event.variant !== undefined) out.variant = event.variant;
  const channel = event.channel ?? ctx.sourceChannel;
  if (channel !== undefined) out.channel = channel;
  if (sentAt !== undefined) out.sentAt = isoOf(sentAt, event.sentAt as string);
  enrichEvent(out, ctx.edge ?? PLAIN_EDGE, hints);
  return { ok: true, event: out };
};

/** UTC ISO form of a time; the client's own string when it already is exactly that form. */
const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const isoOf = (date: Date, sent: string): string => (CANONICAL_ISO.test(sent) ? sent : date.toISOString());

/** The consent token is checked at the door and never travels: it is a bearer credential. */
const withoutConsentToken = (event: ClientEvent | EnvelopeInput): Omit<EnvelopeInput, 'consentToken'> => {
  if (event.consentToken === undefined && !('hints' in event)) return event;
  const { consentToken: _token, hints: _hints, ...rest } = event as EnvelopeInput;
  return rest;
};

const isoLike = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Decode a stream record's payload into a canonical event, or say why it cannot be: the
 * consumer quarantines such records (poison) instead of failing the batch.
 */
export const decodeCanonical = (
  payload: string,
): { ok: true; event: CanonicalEvent } | { ok: false; reason: string } => {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, reason: 'payload is not an object' };
  const e = value as Record<string, unknown>;
  if (e.v !== ENVELOPE_VERSION) return { ok: false, reason: `unsupported envelope version ${String(e.v)}` };
  for (const field of ['eventId', 'type', 'personKey', 'sourceId', 'deviceType'] as const)
    if (!isString(e[field])) return { ok: false, reason: `envelope field ${field} missing or not a string` };
  for (const field of ['eventTime', 'receivedAt', 'timestamp'] as const)
    if (!isString(e[field]) || !isoLike.test(e[field] as string))
      return { ok: false, reason: `envelope field ${field} is not a UTC time` };
  if (e.campaignId !== undefined && !isString(e.campaignId))
    return { ok: false, reason: 'envelope field campaignId is not a string' };
  if (
    typeof e.data !== 'object' ||
    e.data === null ||
    typeof e.properties !== 'object' ||
    e.properties === null
  )
    return { ok: false, reason: 'envelope data or properties missing' };
  return { ok: true, event: value as CanonicalEvent };
};
