/**
 * One delivery round for one destination, shared by the stream consumer (first attempts) and the
 * redrive (retries, triggers, replays), in named steps:
 *
 *  1. order: for a destination that applies updates in arrival order, each person's messages wait
 *     behind an earlier one of theirs still waiting in the outbox out of this round's hands
 *     (functions/core/destinations/ordering.ts);
 *  2. consent: each message's person, with every id linked to them, judged now (mayDeliver): a
 *     withdrawn or erased person's messages leave the outbox undelivered;
 *  3. supersede: an audience message the person's membership has moved past is never sent stale;
 *  4. prepare and send: the vendor's codec builds its requests (batch limits, signing, idempotency
 *     keys) and refuses what the vendor would refuse (dead at once); each request at the
 *     destination's pace (rateLimitPerSecond), per person in time order — for an ordered destination
 *     a person stops at their first message to retry, and their later ones wait with it;
 *  5. settle: each message delivered, retried later (full jitter) or dead, with the vendor's answer;
 *  6. count: the round in the destination's status, which moves the circuit breaker.
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
  type OutboundMessage,
  type VendorAnswer,
} from '../core/destinations/delivery';
import {
  gate,
  inTimeOrder,
  isAudienceMessage,
  isSuperseded,
  keepsPersonOrder,
} from '../core/destinations/ordering';
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
  /** Which (segment, person) memberships are committed now, by membershipKey (SegmentSizes.committed). */
  committedMembers: (pairs: { segment: string; personKey: string }[]) => Promise<Set<string>>;
}

/** Outbox writes in flight at once when a round settles its messages. */
const SETTLE_CONCURRENCY = 16;

export interface Round extends RoundOutcome {
  retried: number;
  /** Not attempted: waiting behind their person's earlier message (ordered destinations). */
  held: number;
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

/** Step 2: which messages may go; the others are dropped from the outbox. */
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

/** A message that waits, unattempted, until `until`: stored, or written for the first time. */
const waitUntil = async (deps: DeliverDeps, item: OutboxItem, until: Date, now: Date) => {
  if (item.stored === false)
    await deps.outbox.enqueue([{ destinationId: item.destinationId, message: item.message }], until, now);
  else await deps.outbox.hold(item, until);
};

/**
 * Step 1, for a destination that applies updates in arrival order: each person's messages in hand
 * go only ahead of the person's earliest message waiting in the outbox out of our hands; the rest
 * wait behind it (until its due time, or this round's lease). The redrive (`lease` set) first takes
 * the person's other due messages too, so a claim's size limit never splits a person.
 */
const order = async (
  deps: DeliverDeps,
  d: Destination,
  items: readonly OutboxItem[],
  now: Date,
  lease: Date | undefined,
): Promise<{ go: OutboxItem[]; held: number }> => {
  if (!keepsPersonOrder(d)) return { go: [...items], held: 0 };
  const go = items.filter((i) => i.message.personKey === undefined);
  const byPerson = new Map<string, OutboxItem[]>();
  for (const i of items) {
    const person = i.message.personKey;
    if (person !== undefined) byPerson.set(person, [...(byPerson.get(person) ?? []), i]);
  }
  let held = 0;
  const limit = pLimit(SETTLE_CONCURRENCY);
  await Promise.all(
    [...byPerson].map(([person, mine]) =>
      limit(async () => {
        const inHand = new Set(mine.map((i) => i.sk));
        let others = (await deps.outbox.pendingFor(person, d.destinationId)).filter((p) => !inHand.has(p.sk));
        if (lease) {
          const due = others.filter((o) => o.dueAt !== undefined && o.dueAt <= now.toISOString());
          const taken = new Set(
            (await Promise.all(due.map(async (o) => ((await deps.outbox.claim(o, lease)) ? o : undefined))))
              .filter((o) => o !== undefined)
              .map((o) => o.sk),
          );
          mine = [...mine, ...others.filter((o) => taken.has(o.sk))];
          others = others.filter((o) => !taken.has(o.sk));
        }
        // A redelivered record whose first attempt was stored: the stored copy stands.
        const stored = new Set(others.map((o) => o.sk));
        const gated = gate(
          mine.filter((i) => !(i.stored === false && stored.has(i.sk))),
          others,
        );
        go.push(...gated.go);
        if (gated.wait.length === 0) return;
        const until = new Date(
          Math.max(Date.parse(gated.blocker?.dueAt ?? '') || 0, (lease ?? now).getTime()),
        );
        await Promise.all(gated.wait.map((i) => waitUntil(deps, i, until, now)));
        held += gated.wait.length;
      }),
    ),
  );
  return { go, held };
};

/** Step 3: audience messages that disagree with the membership as committed now go no further. */
const supersede = async (deps: DeliverDeps, items: readonly OutboxItem[], now: Date) => {
  const audience = items.filter((i) => isAudienceMessage(i.message));
  if (audience.length === 0) return { kept: [...items], superseded: 0 };
  const members = await deps.committedMembers(
    audience.map((i) => ({ segment: i.message.segment as string, personKey: i.message.personKey as string })),
  );
  const stale = new Set(audience.filter((i) => isSuperseded(i.message, members)));
  await Promise.all([...stale].filter((i) => i.stored !== false).map((i) => deps.outbox.supersede(i, now)));
  return { kept: items.filter((i) => !stale.has(i)), superseded: stale.size };
};

/**
 * Step 4: the requests, at the destination's pace. For an ordered destination the requests are
 * prepared anew after each answer: a person with a message to retry stops there, and their later
 * messages of the round are `held` (they wait with it).
 */
const send = async (deps: DeliverDeps, d: Destination, messages: readonly OutboundMessage[]) => {
  const vendor = vendorFor(d.type);
  const credentials = await deps.secrets.read(d.destinationId);
  const ordered = keepsPersonOrder(d);
  const outcomes = new Map<string, ItemOutcome>();
  const signals: ItemOutcome[][] = [];
  const held = new Set<string>();
  const stopped = new Set<string>();
  let remaining = [...messages];
  while (remaining.length > 0) {
    // Signed at send time (receivers check a signature's timestamp), whatever round `now` stands for.
    const prepared = vendor.prepare(d.settings, credentials, remaining, (deps.clock ?? (() => new Date()))());
    for (const r of prepared.rejected) outcomes.set(r.messageId, { kind: 'rejected', reason: r.reason });
    for (const p of ordered ? prepared.requests.slice(0, 1) : prepared.requests) {
      await deps.pace.wait(d.destinationId, d.settings.rateLimitPerSecond as number | undefined);
      const answer = await deps.send(p.request);
      const got = vendor.interpret(p, answer, Date.now());
      signals.push([...got.values()]);
      for (const [id, o] of got) outcomes.set(id, o);
    }
    if (!ordered || prepared.requests.length === 0) break;
    for (const m of remaining)
      if (outcomes.get(m.messageId)?.kind === 'retry' && m.personKey !== undefined) stopped.add(m.personKey);
    remaining = remaining.filter((m) => !outcomes.has(m.messageId));
    for (const m of remaining) if (stopped.has(m.personKey as string)) held.add(m.messageId);
    remaining = remaining.filter((m) => !held.has(m.messageId));
  }
  return { outcomes, signals, held };
};

/** Step 5 for one message. */
const settle = async (
  deps: DeliverDeps,
  item: OutboxItem,
  outcome: ItemOutcome,
  now: Date,
): Promise<{ state: 'delivered' | 'retried' | 'dead'; dueAt?: Date }> => {
  const unstored = item.stored === false;
  if (outcome.kind === 'delivered') {
    if (!unstored) await deps.outbox.delivered(item, now);
    return { state: 'delivered' };
  }
  const first = item.firstAttemptAt ?? now.toISOString();
  const step = nextStep(outcome, item.attempts + 1, Date.parse(first), now.getTime(), deps.random);
  if (step.state === 'dead') {
    if (unstored) await deps.outbox.firstAttemptFailed(item, { dead: true, error: outcome.reason }, now);
    else await deps.outbox.dead(item, outcome.reason, now);
    return { state: 'dead' };
  }
  const dueAt = new Date(step.dueAt);
  if (unstored)
    await deps.outbox.firstAttemptFailed(item, { dueAt, firstAttemptAt: first, error: outcome.reason }, now);
  else await deps.outbox.retry(item, first, dueAt, outcome.reason);
  return { state: 'retried', dueAt };
};

/**
 * Step 5 for the round: every outcome settled, then each held message waits with the message that
 * stopped its person (the latest retry time among the person's failures), or is due at once when
 * that one went dead.
 */
const settleAll = async (
  deps: DeliverDeps,
  byId: ReadonlyMap<string, OutboxItem>,
  sent: { outcomes: ReadonlyMap<string, ItemOutcome>; held: ReadonlySet<string> },
  now: Date,
) => {
  const limit = pLimit(SETTLE_CONCURRENCY);
  const counts = { delivered: 0, retried: 0, dead: 0 };
  const resume = new Map<string, number>();
  await Promise.all(
    [...sent.outcomes].map(([id, o]) =>
      limit(async () => {
        const item = byId.get(id) as OutboxItem;
        const { state, dueAt } = await settle(deps, item, o, now);
        counts[state]++;
        const person = item.message.personKey;
        if (dueAt && person !== undefined)
          resume.set(person, Math.max(resume.get(person) ?? 0, dueAt.getTime()));
      }),
    ),
  );
  await Promise.all(
    [...sent.held].map((id) => {
      const item = byId.get(id) as OutboxItem;
      const until = new Date(resume.get(item.message.personKey as string) ?? now.getTime());
      return limit(() => waitUntil(deps, item, until, now));
    }),
  );
  return counts;
};

/**
 * Delivers these outbox messages (held by the caller) to one destination. The redrive passes the
 * lease its claims run to: an ordered destination's round may take a person's other due messages.
 */
export const deliverRound = async (
  deps: DeliverDeps,
  d: Destination,
  items: readonly OutboxItem[],
  now: Date,
  lease?: Date,
): Promise<Round> => {
  const round: Round = {
    delivered: 0,
    dead: 0,
    consentDropped: 0,
    superseded: 0,
    retried: 0,
    held: 0,
    breaker: 'neutral',
    pausedNow: false,
  };
  if (items.length === 0) return round;
  const { go, held } = await order(deps, d, items, now, lease);
  round.held = held;
  const { kept: consented, dropped } = await admit(deps, d, go, now);
  round.consentDropped = dropped;
  const { kept, superseded } = await supersede(deps, consented, now);
  round.superseded = superseded;
  if (kept.length > 0) {
    // Per person in time order, so a vendor that applies updates in arrival order sees them in order.
    const ordered = [...kept].sort(
      (a, b) =>
        (a.message.personKey ?? '').localeCompare(b.message.personKey ?? '') ||
        inTimeOrder(a.message, b.message),
    );
    const byId = new Map(ordered.map((i) => [i.message.messageId, i]));
    const sent = await send(
      deps,
      d,
      ordered.map((i) => i.message),
    );
    const settled = await settleAll(deps, byId, sent, now);
    for (const state of ['delivered', 'retried', 'dead'] as const) round[state] += settled[state];
    round.held += sent.held.size;
    round.breaker = breakerSignal(sent.signals.flat());
    for (const o of sent.outcomes.values()) if (o.kind !== 'delivered') round.error = o.reason;
  }
  const { pausedNow } = await deps.destinations.recordRound(d.destinationId, round, now);
  round.pausedNow = pausedNow;
  return round;
};
