/**
 * One delivery round for one destination, shared by the stream consumer (first attempts) and the
 * redrive (retries, triggers, replays), in named steps:
 *
 *  1. consent: each message's person, with every id linked to them, judged now (mayDeliver): a
 *     withdrawn or erased person's messages leave the outbox undelivered;
 *  2. prepare: the vendor's codec builds its requests (batch limits, signing, idempotency keys)
 *     and refuses what the vendor would refuse (dead at once);
 *  3. send: each request at the destination's pace (rateLimitPerSecond), per person in time order;
 *  4. settle: each message delivered, retried later (full jitter) or dead, with the vendor's answer;
 *  5. count: the round in the destination's status, which moves the circuit breaker.
 */
import pLimit from 'p-limit';
import type { ConsentRepository } from '../adapters/consent-repository';
import type { DestinationSecrets } from '../adapters/destination-secrets';
import type { DestinationsRepository, RoundOutcome } from '../adapters/destinations-repository';
import type { OutboxItem, OutboxRepository } from '../adapters/outbox-repository';
import type { Destination } from '../core/destinations/definition';
import {
  breakerSignal,
  type ItemOutcome,
  mayDeliver,
  messageIds,
  nextStep,
  type VendorAnswer,
} from '../core/destinations/delivery';
import { type VendorRequest, vendorFor } from '../core/destinations/vendors';
import { keyedIdHash } from '../core/signing';

export interface DeliverDeps {
  outbox: OutboxRepository;
  destinations: DestinationsRepository;
  secrets: DestinationSecrets;
  consent: ConsentRepository;
  /** The anonymous ids linked to a user (consent given before login counts). */
  linkedIds: (personKey: string) => Promise<string[]>;
  key: Uint8Array;
  consentRequired: boolean;
  /** An HTTP request or an AWS call (functions/adapters/vendor-transport.ts sendRequest). */
  send: (request: VendorRequest) => Promise<VendorAnswer>;
  pace: Pacer;
  random?: () => number;
  /** The clock requests are signed and validated with (default: the system clock). */
  clock?: () => Date;
}

/** Outbox writes in flight at once when a round settles its messages. */
const SETTLE_CONCURRENCY = 16;

export interface Round extends RoundOutcome {
  retried: number;
  pausedNow: boolean;
}

/**
 * Requests per second per destination, per container: a destination's requests wait for their
 * turn. Each worker (a shard's consumer, the redrive) paces itself, so a destination's total rate
 * is at most its setting times the workers running.
 */
export class Pacer {
  private readonly next = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  async wait(destinationId: string, perSecond: number | undefined): Promise<void> {
    if (!perSecond) return;
    const t = this.now();
    const at = Math.max(t, this.next.get(destinationId) ?? 0);
    this.next.set(destinationId, at + 1000 / perSecond);
    if (at > t) await new Promise((r) => setTimeout(r, at - t));
  }
}

/** Step 1: which messages may go; the others are dropped from the outbox. */
const admit = async (deps: DeliverDeps, d: Destination, items: readonly OutboxItem[], now: Date) => {
  const persons = [...new Set(items.flatMap((i) => (i.message.personKey ? [i.message.personKey] : [])))];
  const linked = new Map(await Promise.all(persons.map(async (p) => [p, await deps.linkedIds(p)] as const)));
  const idsOf = (i: OutboxItem) => [
    ...new Set([...messageIds(i.message), ...(linked.get(i.message.personKey ?? '') ?? [])]),
  ];
  const allIds = [...new Set(items.flatMap(idsOf))];
  const hashOf = new Map(allIds.map((id) => [id, keyedIdHash(deps.key, id)]));
  const [erasedByHash, current] = await Promise.all([
    allIds.length ? deps.consent.erasedAmong([...hashOf.values()]) : new Map(),
    allIds.length && deps.consentRequired ? deps.consent.currentFor(allIds) : new Map(),
  ]);
  const erased = new Map(
    allIds.flatMap((id) => {
      const m = erasedByHash.get(hashOf.get(id) as string);
      return m ? [[id, m] as const] : [];
    }),
  );
  const purposes = new Map([...current].map(([id, r]) => [id, r.purposes as Record<string, boolean>]));
  const kept: OutboxItem[] = [];
  const dropped: OutboxItem[] = [];
  for (const i of items)
    (mayDeliver(i.message, idsOf(i), d.consentPurpose, { purposes, erased }, deps.consentRequired)
      ? kept
      : dropped
    ).push(i);
  await Promise.all(dropped.filter((i) => i.stored !== false).map((i) => deps.outbox.drop(i, now)));
  return { kept, dropped: dropped.length };
};

/** Step 4 for one message. */
const settle = async (
  deps: DeliverDeps,
  item: OutboxItem,
  outcome: ItemOutcome,
  now: Date,
): Promise<'delivered' | 'retried' | 'dead'> => {
  const unstored = item.stored === false;
  if (outcome.kind === 'delivered') {
    if (!unstored) await deps.outbox.delivered(item, now);
    return 'delivered';
  }
  const first = item.firstAttemptAt ?? now.toISOString();
  const step = nextStep(outcome, item.attempts + 1, Date.parse(first), now.getTime(), deps.random);
  if (step.state === 'dead') {
    if (unstored) await deps.outbox.firstAttemptFailed(item, { dead: true, error: outcome.reason }, now);
    else await deps.outbox.dead(item, outcome.reason, now);
    return 'dead';
  }
  const dueAt = new Date(step.dueAt);
  if (unstored)
    await deps.outbox.firstAttemptFailed(item, { dueAt, firstAttemptAt: first, error: outcome.reason }, now);
  else await deps.outbox.retry(item, first, dueAt, outcome.reason);
  return 'retried';
};

/** Delivers these outbox messages (held by the caller) to one destination. */
export const deliverRound = async (
  deps: DeliverDeps,
  d: Destination,
  items: readonly OutboxItem[],
  now: Date,
): Promise<Round> => {
  const round: Round = {
    delivered: 0,
    dead: 0,
    consentDropped: 0,
    retried: 0,
    breaker: 'neutral',
    pausedNow: false,
  };
  if (items.length === 0) return round;
  const { kept, dropped } = await admit(deps, d, items, now);
  round.consentDropped = dropped;
  if (kept.length > 0) {
    // Per person in time order, so a vendor that applies updates in arrival order sees them in order.
    const ordered = [...kept].sort(
      (a, b) =>
        (a.message.personKey ?? '').localeCompare(b.message.personKey ?? '') ||
        a.message.at.localeCompare(b.message.at),
    );
    const byId = new Map(ordered.map((i) => [i.message.messageId, i]));
    const vendor = vendorFor(d.type);
    const credentials = await deps.secrets.read(d.destinationId);
    // Signed at send time (receivers check a signature's timestamp), whatever round `now` stands for.
    const prepared = vendor.prepare(
      d.settings,
      credentials,
      ordered.map((i) => i.message),
      (deps.clock ?? (() => new Date()))(),
    );
    const outcomes = new Map<string, ItemOutcome>();
    for (const r of prepared.rejected) outcomes.set(r.messageId, { kind: 'rejected', reason: r.reason });
    const signals: ItemOutcome[][] = [];
    for (const p of prepared.requests) {
      await deps.pace.wait(d.destinationId, d.settings.rateLimitPerSecond as number | undefined);
      const answer = await deps.send(p.request);
      const got = vendor.interpret(p, answer, Date.now());
      signals.push([...got.values()]);
      for (const [id, o] of got) outcomes.set(id, o);
    }
    const limit = pLimit(SETTLE_CONCURRENCY);
    const results = await Promise.all(
      [...outcomes].map(([id, o]) => limit(() => settle(deps, byId.get(id) as OutboxItem, o, now))),
    );
    for (const r of results) round[r === 'delivered' ? 'delivered' : r === 'dead' ? 'dead' : 'retried']++;
    const flat = signals.flat();
    round.breaker = breakerSignal(flat);
    for (const o of outcomes.values()) if (o.kind !== 'delivered') round.error = o.reason;
  }
  const { pausedNow } = await deps.destinations.recordRound(d.destinationId, round, now);
  round.pausedNow = pausedNow;
  return round;
};
