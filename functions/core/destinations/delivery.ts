/**
 * Delivery rules every destination shares: the outbound message, retries with full-jitter
 * backoff, the dead state, and the circuit breaker. Pure (the clock and randomness are passed in).
 *
 * Retries: a message keeps being retried until it has had RETRY.minAttempts attempts AND its first
 * attempt is RETRY.minSpanMs old — whichever comes last — so a vendor outage of up to three hours
 * loses nothing, however the jitter falls. Each wait is uniform in [0, min(cap, base·2^attempt)]
 * ("full jitter": retries of many messages spread out instead of arriving together), and never
 * shorter than the vendor's Retry-After.
 */
import type { CanonicalEvent } from '../events';
import type { MessageKind } from './definition';

/** A campaign alert as it fires (functions/core/alerts.ts). */
export interface AlertFired {
  alertId: string;
  campaignId: string;
  metric: string;
  condition: string;
  value: number;
  threshold: number;
  baseline?: number;
  windowStart: string;
  windowEnd: string;
}

/** One message for one destination: an event Pulse received or one it produced (a trigger). */
export interface OutboundMessage {
  /** The idempotency key vendors deduplicate on: the event id, or the trigger's own id. */
  messageId: string;
  kind: MessageKind;
  /** When it happened (event time, membership change, alert evaluation). */
  at: string;
  personKey?: string;
  userId?: string;
  anonymousId?: string;
  event?: CanonicalEvent;
  segment?: string;
  alert?: AlertFired;
}

export const eventMessage = (event: CanonicalEvent): OutboundMessage => ({
  messageId: event.eventId,
  kind: 'event',
  at: event.eventTime,
  personKey: event.personKey,
  ...(event.userId !== undefined && { userId: event.userId }),
  ...(event.anonymousId !== undefined && { anonymousId: event.anonymousId }),
  event,
});

/** Every id a message names (consent and erasure are judged on each of them). */
export const messageIds = (m: OutboundMessage): string[] => [
  ...new Set([m.personKey, m.userId, m.anonymousId].filter((x): x is string => x !== undefined)),
];

export const RETRY = {
  baseMs: 30_000,
  capMs: 3_600_000,
  minAttempts: 5,
  minSpanMs: 3 * 3_600_000,
} as const;

/** What became of one message at one attempt. */
export type ItemOutcome =
  | { kind: 'delivered' }
  /** Worth another try (5xx, 429, timeout, network); Retry-After in ms when the vendor gave one. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The vendor refused it for good (a 4xx about the payload): dead at once, with its answer. */
  | { kind: 'rejected'; reason: string };

export type NextStep = { state: 'retry'; dueAt: number } | { state: 'dead' };

/**
 * After a failed attempt: when to try again, or dead. `attempts` counts the attempts made so far
 * (this one included); `firstAttemptAt` is when the first one ran.
 */
export const nextStep = (
  outcome: Exclude<ItemOutcome, { kind: 'delivered' }>,
  attempts: number,
  firstAttemptAt: number,
  now: number,
  random: () => number = Math.random,
): NextStep => {
  if (outcome.kind === 'rejected') return { state: 'dead' };
  if (attempts >= RETRY.minAttempts && now - firstAttemptAt >= RETRY.minSpanMs) return { state: 'dead' };
  const ceiling = Math.min(RETRY.capMs, RETRY.baseMs * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.floor(random() * ceiling);
  return { state: 'retry', dueAt: now + Math.max(jittered, outcome.retryAfterMs ?? 0) };
};

/**
 * The circuit breaker: a destination whose requests keep failing (5xx, timeouts, network — not
 * 429, which is the vendor pacing us) is paused after this many in a row, so a dead endpoint stops
 * costing retries and alarms; `POST /api/destinations/{id}/resume` closes it again.
 */
export const CIRCUIT = { failuresToOpen: 10 } as const;

/** Whether a request's outcome counts against the breaker (true), resets it (false), or neither. */
export const breakerSignal = (outcomes: readonly ItemOutcome[]): 'failure' | 'success' | 'neutral' => {
  if (outcomes.some((o) => o.kind === 'delivered' || o.kind === 'rejected')) return 'success';
  if (outcomes.length > 0 && outcomes.every((o) => o.kind === 'retry' && !o.reason.startsWith('429')))
    return 'failure';
  return 'neutral';
};

/** Retry-After (seconds or an HTTP date) in ms from now, if the vendor sent one. */
export const retryAfterMs = (value: string | undefined, now: number): number | undefined => {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/** A vendor's answer, as the transport got it. */
export type VendorAnswer =
  | { status: number; headers: Record<string, string>; body: string }
  | { failure: 'timeout' | 'network'; message: string };

/** Answers under 200 characters in status and logs: enough to read, never a whole payload echoed back. */
export const shortAnswer = (a: VendorAnswer): string =>
  'failure' in a ? `${a.failure}: ${a.message}`.slice(0, 200) : `${a.status} ${a.body}`.slice(0, 200);

/**
 * The usual HTTP semantics: 2xx delivered; 408, 409 (in-flight duplicate), 425, 429 and 5xx,
 * timeouts and network errors retried (with Retry-After); any other 4xx rejected.
 */
export const httpOutcome = (a: VendorAnswer, now: number): ItemOutcome => {
  if ('failure' in a) return { kind: 'retry', reason: shortAnswer(a) };
  if (a.status >= 200 && a.status < 300) return { kind: 'delivered' };
  if ([408, 409, 425, 429].includes(a.status) || a.status >= 500) {
    const after = retryAfterMs(a.headers['retry-after'], now);
    return { kind: 'retry', reason: shortAnswer(a), ...(after !== undefined && { retryAfterMs: after }) };
  }
  return { kind: 'rejected', reason: shortAnswer(a) };
};

/** What consent and erasure say about one message, from the state of each of its person's ids. */
export interface ConsentView {
  /** Purposes as recorded, per id (current state only). */
  purposes: ReadonlyMap<string, Partial<Record<string, boolean>>>;
  /** Erasure markers per id: since when the person consented again, if they did. */
  erased: ReadonlyMap<string, { resumedAt?: string }>;
}

/**
 * May this message go to a destination needing `purpose`? Never when any of the person's ids is
 * erased (unless the person consented again after, and the message is newer); with consent
 * required, only when one of the ids granted the purpose and none refused it. Messages about no
 * one (alerts) always may.
 */
export const mayDeliver = (
  m: OutboundMessage,
  personIds: readonly string[],
  purpose: string,
  view: ConsentView,
  consentRequired: boolean,
): boolean => {
  if (m.personKey === undefined) return true;
  for (const id of personIds) {
    const marker = view.erased.get(id);
    if (marker && !(marker.resumedAt !== undefined && m.at >= marker.resumedAt)) return false;
  }
  if (!consentRequired) return true;
  if (personIds.some((id) => view.purposes.get(id)?.[purpose] === false)) return false;
  return personIds.some((id) => view.purposes.get(id)?.[purpose] === true);
};
