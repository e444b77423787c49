/**
 * The ingest decision for `/api/engagement/*`, pure: raw events in, canonical events and
 * per-index rejections out. The handler only adds I/O (auth, the stream write, the answer).
 */
import { checkConsent } from './consent';
import type { PlanViolation } from './edge/tracking-plan';
import { type DoorContext, type EnvelopeInput, toCanonical } from './envelope';
import { type CanonicalEvent, type ClientEvent, type EventType, LIMITS, parseClientEvent } from './events';
import { experimentViewed } from './experiment-viewed';
import { minimiseProperties } from './pii';
import type { FieldError, ProblemCode } from './problem';

export interface Rejection {
  index: number;
  eventId?: string;
  code: ProblemCode;
  errors: FieldError[];
  /** How it broke its tracking plan (a `block` plan rejected it). */
  violations?: PlanViolation[];
}

/** An accepted event and its serialised form, the bytes that go on the stream. */
export interface Accepted {
  event: CanonicalEvent;
  json: string;
  /** How it broke its tracking plan (`warn`, `omit`): counted, never on the stream. */
  violations?: PlanViolation[];
}

/** An event a door made itself (identify, exposure, link click), ready for the stream. */
export const accepted = (event: CanonicalEvent): Accepted => ({ event, json: JSON.stringify(event) });

export interface IngestOutcome {
  accepted: Accepted[];
  rejected: Rejection[];
}

/**
 * The per-event limit applies to the event as Pulse keeps it (unknown top-level fields are
 * dropped, never stored), measured on the serialisation the stream gets anyway, with room
 * for the fields Pulse adds (ids, times, source).
 */
export const ENVELOPE_ALLOWANCE_BYTES = 2048;

/** Field errors of an event inside a batch: `events.3.` before each path. */
export const prefixed = (errors: FieldError[], prefix: string): FieldError[] =>
  prefix === ''
    ? errors
    : errors.map((e) => ({ ...e, path: e.path === '' ? prefix.slice(0, -1) : `${prefix}${e.path}` }));

export type Admission =
  | { ok: true; event: CanonicalEvent; violations?: PlanViolation[] }
  | {
      ok: false;
      stage: 'plan' | 'properties' | 'time' | 'consent';
      code: ProblemCode;
      errors: FieldError[];
      violations?: PlanViolation[];
    };

/**
 * A custom event against its tracking plan (before data minimisation: the plan describes what
 * the client sends): `block` rejects it, `omit` drops the offending properties, `warn` keeps it.
 */
const checkPlan = (
  input: ClientEvent | EnvelopeInput,
  ctx: DoorContext,
): Extract<Admission, { ok: false }> | PlanViolation[] | undefined => {
  const plans = ctx.edge?.plans;
  if (!plans || plans.size === 0 || input.type !== 'custom' || typeof input.name !== 'string')
    return undefined;
  const outcome = plans.check(input.name, input.properties ?? {});
  if (outcome.kind === 'block')
    return {
      ok: false,
      stage: 'plan',
      code: 'validation_failed',
      errors: outcome.errors,
      violations: outcome.violations,
    };
  if (outcome.kind === 'none' || outcome.kind === 'ok') return undefined;
  input.properties = outcome.properties;
  return outcome.violations;
};

/**
 * What every door's events pass once validated and mapped: data minimisation of properties,
 * the canonical envelope (skew correction, time horizons) and, when required, consent — the
 * event's own token, else the request's header token.
 */
export const admitEvent = (
  input: ClientEvent | EnvelopeInput,
  ctx: DoorContext,
  consentToken?: string,
): Admission => {
  const plan = checkPlan(input, ctx);
  if (plan !== undefined && !Array.isArray(plan)) return plan;
  if (ctx.pii && ctx.pii.mode !== 'off' && input.properties) {
    const minimised = minimiseProperties(input.properties, ctx.pii.mode, ctx.pii.key);
    if (minimised.errors.length > 0)
      return { ok: false, stage: 'properties', code: 'validation_failed', errors: minimised.errors };
    input.properties = minimised.value;
  }
  const canonical = toCanonical(input, ctx);
  if (!canonical.ok) return { ok: false, stage: 'time', code: 'validation_failed', errors: canonical.errors };
  if (ctx.consent) {
    const verdict = checkConsent(
      ctx.consent.key,
      consentToken || ctx.consent.headerToken,
      canonical.event,
      'analytics',
      ctx.consent.verified,
    );
    if (!verdict.ok) return { ok: false, stage: 'consent', code: verdict.code, errors: verdict.errors };
  }
  // experiments v2: GrowthBook's "Experiment Viewed" is an exposure, as a promotion call's is.
  const event = experimentViewed(canonical.event) ?? canonical.event;
  return plan ? { ok: true, event, violations: plan } : { ok: true, event };
};

/** One raw event → accepted event or rejection. */
export const ingestOne = (
  raw: unknown,
  index: number,
  ctx: DoorContext,
  options: { pathType?: EventType; prefix: string },
): Accepted | Rejection => {
  const eventId =
    raw && typeof raw === 'object' && typeof (raw as { eventId?: unknown }).eventId === 'string'
      ? (raw as { eventId: string }).eventId
      : undefined;
  const reject = (code: ProblemCode, errors: FieldError[], violations?: PlanViolation[]): Rejection => ({
    index,
    ...(eventId !== undefined && { eventId }),
    code,
    errors: prefixed(errors, options.prefix),
    ...(violations && { violations }),
  });
  const parsed = parseClientEvent(raw, options.pathType);
  if (!parsed.ok) return reject('validation_failed', parsed.errors);
  const admitted = admitEvent(parsed.value, ctx, parsed.value.consentToken);
  if (!admitted.ok) return reject(admitted.code, admitted.errors, admitted.violations);
  const json = JSON.stringify(admitted.event);
  // String length is a lower bound of UTF-8 bytes: count bytes only near the limit.
  const max = LIMITS.eventBytes + ENVELOPE_ALLOWANCE_BYTES;
  if (json.length * 3 > max && Buffer.byteLength(json) > max)
    return reject('payload_too_large', [{ path: '', message: `Event exceeds ${LIMITS.eventBytes} bytes` }]);
  return admitted.violations
    ? { event: admitted.event, json, violations: admitted.violations }
    : { event: admitted.event, json };
};

export const isRejection = (r: Accepted | Rejection): r is Rejection => 'code' in r && 'index' in r;

export const ingestBatch = (events: readonly unknown[], ctx: DoorContext): IngestOutcome => {
  const accepted: Accepted[] = [];
  const rejected: Rejection[] = [];
  events.forEach((raw, index) => {
    const result = ingestOne(raw, index, ctx, { prefix: `events.${index}.` });
    if (isRejection(result)) rejected.push(result);
    else accepted.push(result);
  });
  return { accepted, rejected };
};

/** Events to put on the stream: one per event id (a batch may repeat an event it retries). */
export const distinctById = (events: readonly Accepted[]): Accepted[] => {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.event.eventId) && seen.add(e.event.eventId));
};
