/**
 * Applying one stream batch to the read models, exactly once, in named stages:
 *
 *  1. decode: each record into a canonical event; a record that cannot be decoded is
 *     quarantined (payload and reason) and skipped, so poison never blocks the shard;
 *  2. identify consent: identify events need their own ids' consent before they link anything;
 *  3. identity: apply identify links and their merges in order, then aim anonymous-only
 *     events at the user their id is linked to;
 *  4. consent by person: drop events of erased persons and of withdrawn or missing consent,
 *     judged with every id linked to the person the event now counts on;
 *  5. persons: load every person of the batch, judge each record (new, or a client retry
 *     already counted) and write each person whole, version-checked — persons first, so
 *     verdicts are final before anything counts them;
 *  6. counters: fold the counted events into one delta per counter item and apply each with
 *     its sequence checkpoint.
 *
 * Every item carries its own checkpoint, so any redelivery (retry, bisection, resume from the
 * lowest failed record, a crash between two writes) re-applies exactly what each item lacks.
 * A failure stops at the lowest record whose effects are not all written: the answer names it
 * and Lambda resumes there. Every caught error is reported (`onError`: the consumer logs its
 * cause with the shard and sequence numbers it concerns — never personal data — and counts it)
 * before the batch answers.
 */
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { KinesisStreamRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import type { ConsentRecord, ConsentRepository } from '../adapters/consent-repository';
import type { IdentityRepository, LinkOutcome } from '../adapters/identity-repository';
import type { MetricsRepository } from '../adapters/metrics-repository';
import type { PeopleRepository } from '../adapters/people-repository';
import { idsOfStreamRecord, type QuarantineRepository } from '../adapters/quarantine-repository';
import { foldCounters, ownerOf } from '../core/campaign-counters';
import type { BotPolicy, BotReason } from '../core/edge/person-edge';
import { decodeCanonical } from '../core/envelope';
import type { Metric } from '../core/experiment-design';
import {
  type DedupPageRef,
  type Effect,
  type Goal,
  judgeAndApply,
  type PersonStats,
  padSequence,
  type StreamEvent,
  sealDedup,
  type Verdict,
} from '../core/person';
import { keyedIdHash } from '../core/signing';
import { reportFailure } from './failures';

/**
 * Dedup state of anonymous profiles frozen into this user but not folded in yet (a merge
 * interrupted between its two writes): a client retry of their events is still a duplicate.
 */
const pendingMergeDedup = async (
  deps: BatchDeps,
  user: PersonStats,
  events: readonly (StreamEvent & { via?: string })[],
): Promise<{ inline: Record<string, Uint8Array>[]; pages: DedupPageRef[] }> => {
  const pending = [...new Set(events.flatMap((e) => (e.via && !user.merged.includes(e.via) ? [e.via] : [])))];
  if (pending.length === 0) return { inline: [], pages: [] };
  const { people } = await deps.people.load(pending);
  const frozen = pending.flatMap((id) => {
    const p = people.get(id);
    // Folded already: its entries are in the user's item.
    return p?.stats.mergedInto === user.personKey && !p.stats.folded ? [p.stats] : [];
  });
  return { inline: frozen.map((s) => s.dedup), pages: frozen.flatMap((s) => s.dedupPages) };
};

/**
 * Consent as it stands now, checked for every event of a batch: an erasure marker on any of
 * its ids drops it; with consent required, so does a withdrawal of analytics by any of its
 * ids, or no grant on record for either — whatever token the event carried at ingest.
 */
export interface ConsentGate {
  consent: ConsentRepository;
  key: Uint8Array;
  required: boolean;
}

export interface BatchDeps {
  people: PeopleRepository;
  counters: MetricsRepository;
  quarantine: QuarantineRepository;
  consentGate?: ConsentGate;
  identity?: IdentityRepository;
  /** Experiment goals by experiment id (cached by the caller). */
  goals?: () => Promise<ReadonlyMap<string, Goal>>;
  /** Predictions: the person as it will be saved, with its scores brought up to date (docs/models.md). */
  rescore?: (stats: PersonStats, now: Date) => Promise<PersonStats>;
  /** experiments v2: each experiment's metrics by experiment id (cached by the caller). */
  experimentMetrics?: () => Promise<ReadonlyMap<string, readonly Metric[]>>;
  /** After a person's stats changed (segment rules): returns write units used. */
  onPersonChanged?: (personKey: string, stats: PersonStats, now: Date) => Promise<number>;
  /** Key for the person hashes in unique-user sets. */
  idKey?: Uint8Array;
  /** Told of every error a stage caught, with the records it concerns (default: logged and counted). */
  onError?: (failure: StageFailure) => void;
  now?: () => Date;
  concurrency?: number;
  /** Clean data at the edge: when an id's event rate makes it a bot (core/edge/person-edge.ts). */
  bots?: BotPolicy;
}

export type Stage = 'decode' | 'identity' | 'persons' | 'register' | 'counters';

/** An error a stage caught: what failed, and which records it holds back (never personal data). */
export interface StageFailure {
  stage: Stage;
  error: unknown;
  shardId: string | undefined;
  /** Padded sequence numbers of the records concerned, lowest first. */
  sequenceNumbers: string[];
}

export interface BatchOutcome {
  /** Sequence number (as Kinesis gave it) to resume from, when not everything was applied. */
  failedFrom?: string;
  /** First copies applied now. */
  applied: number;
  /** Records a redelivery brought again (already applied to their person). */
  replayed: number;
  /** Client retries of events already counted. */
  duplicates: number;
  /** Events dropped for consent withdrawn, never given, or erasure. */
  consentDropped: number;
  /** Identify outcomes. */
  links: Record<LinkOutcome, number>;
  quarantined: number;
  writeUnits: number;
  /** Oldest record's age when the batch started, ms. */
  maxRecordAgeMs: number;
  /** Errors caught per stage (each reported through onError). */
  errors: Partial<Record<Stage, number>>;
}

const ownIds = (e: StreamEvent) =>
  [e.event.userId, e.event.anonymousId].filter((id): id is string => id !== undefined);

/**
 * Consent as it stands now, for the person an event counts on. An erasure marker on any id the
 * event or its person carries drops it (unless the person consented again after the erasure and
 * the event was received since); so does a withdrawal by any of them — a device linked to a user
 * withdraws for the user. A grant counts only from the person's own ids (the person key and the
 * anonymous ids linked to it): a token for some other anonymous id, named beside a user id that
 * never consented, grants nothing. `personIds` gives each event's person ids.
 */
const consentFilter = async (
  events: readonly StreamEvent[],
  gate: ConsentGate,
  personIds: (e: StreamEvent) => readonly string[],
): Promise<StreamEvent[]> => {
  if (events.length === 0) return [];
  const ids = [...new Set(events.flatMap((e) => [...ownIds(e), ...personIds(e)]))];
  const hashOf = new Map(ids.map((id) => [id, keyedIdHash(gate.key, id)]));
  const [erased, current] = await Promise.all([
    gate.consent.erasedAmong([...hashOf.values()]),
    gate.required ? gate.consent.currentFor(ids) : Promise.resolve(new Map<string, ConsentRecord>()),
  ]);
  return events.filter((e) => {
    const mine = personIds(e);
    const all = [...new Set([...ownIds(e), ...mine])];
    const suppressed = all.some((id) => {
      const marker = erased.get(hashOf.get(id) as string);
      return (
        marker !== undefined && !(marker.resumedAt !== undefined && e.event.receivedAt >= marker.resumedAt)
      );
    });
    if (suppressed) return false;
    if (!gate.required) return true;
    if (all.some((id) => current.get(id)?.purposes.analytics === false)) return false;
    return mine.some((id) => current.get(id)?.purposes.analytics === true);
  });
};

/**
 * Stage 2: identify events, judged by their own ids before they link anything (a link needs the
 * anonymous id's consent, and neither id erased or withdrawn).
 */
const admitIdentifies = async (run: BatchRun, events: StreamEvent[]): Promise<StreamEvent[]> => {
  const gate = run.deps.consentGate;
  const identifies = events.filter((e) => e.event.type === 'identify');
  if (!gate || identifies.length === 0) return events;
  const kept = new Set(await consentFilter(identifies, gate, ownIds));
  return events.filter((e) => e.event.type !== 'identify' || kept.has(e));
};

/**
 * Stage 4: every other event, judged for the person it now counts on (after identity aimed it),
 * with every id linked to that person.
 */
const admitByPerson = async (run: BatchRun, events: StreamEvent[]): Promise<StreamEvent[]> => {
  const { consentGate: gate, identity } = run.deps;
  if (!gate) return events;
  const persons = [
    ...new Set(events.filter((e) => e.event.type !== 'identify').map((e) => e.event.personKey)),
  ];
  const linked = new Map(
    await Promise.all(
      persons.map(
        async (p) => [p, identity ? (await identity.linkedIds(p)).map((l) => l.anonymousId) : []] as const,
      ),
    ),
  );
  // Without identity (tests of the fold alone), an event's own ids are its person's.
  const personIds = (e: StreamEvent) =>
    identity
      ? [e.event.personKey, ...(linked.get(e.event.personKey) ?? [])]
      : [e.event.personKey, ...ownIds(e)];
  const kept = new Set(
    await consentFilter(
      events.filter((e) => e.event.type !== 'identify'),
      gate,
      personIds,
    ),
  );
  return events.filter((e) => e.event.type === 'identify' || kept.has(e));
};

const shardOf = (r: KinesisStreamRecord) => r.eventID.slice(0, r.eventID.lastIndexOf(':'));

/** What the stages share: the batch's dependencies, its outcome, and where it must stop. */
interface BatchRun {
  deps: BatchDeps;
  now: Date;
  limit: ReturnType<typeof pLimit>;
  outcome: BatchOutcome;
  rawSeqOf: Map<string, string>;
  shardId: string | undefined;
  /** Padded sequence number of the lowest record not fully applied. */
  failedAt: string | undefined;
}

/** Add write units after the await (`x += await …` would lose concurrent writers' units). */
const spend = (run: BatchRun, units: number) => {
  run.outcome.writeUnits += units;
};

/** A stage caught an error: report it, and hold back every record from the lowest concerned. */
const fail = (run: BatchRun, stage: Stage, error: unknown, seqs: readonly string[]) => {
  const sorted = [...seqs].sort();
  const lowest = sorted[0];
  if (lowest === undefined) return;
  if (run.failedAt === undefined || lowest < run.failedAt) run.failedAt = lowest;
  run.outcome.errors[stage] = (run.outcome.errors[stage] ?? 0) + 1;
  (run.deps.onError ?? reportFailure)({
    stage,
    error,
    shardId: run.shardId,
    sequenceNumbers: sorted.map((s) => run.rawSeqOf.get(s) ?? s),
  });
};

/** Records before the first failure: nothing after it may be applied (Lambda resumes there). */
const beforeFailure = <T extends { seq: string }>(run: BatchRun, items: readonly T[]): T[] =>
  run.failedAt === undefined ? [...items] : items.filter((e) => e.seq < (run.failedAt as string));

/**
 * Stage 1: decode each record; quarantine poison. Powertools' BatchProcessor runs the
 * per-record step and captures the records whose handling failed (a quarantine write that did
 * not go through).
 */
const decodeRecords = async (run: BatchRun, records: readonly KinesisStreamRecord[]) => {
  const { deps, outcome, now } = run;
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  processor.register(
    [...records],
    async (r: KinesisStreamRecord): Promise<StreamEvent | undefined> => {
      const seq = padSequence(r.kinesis.sequenceNumber);
      const data = Buffer.from(r.kinesis.data, 'base64').toString('utf8');
      const decoded = decodeCanonical(data);
      if (decoded.ok) return { shardId: shardOf(r), seq, event: decoded.event };
      spend(
        run,
        await deps.quarantine.put({
          personKeys: idsOfStreamRecord(r.kinesis.partitionKey, data),
          reason: decoded.reason,
          origin: `stream:${shardOf(r)}`,
          position: r.kinesis.sequenceNumber,
          payload: r.kinesis.data,
          receivedAt: new Date(r.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
        }),
      );
      outcome.quarantined++;
      return undefined;
    },
    { throwOnFullBatchFailure: false },
  );
  const events: StreamEvent[] = [];
  for (const [status, result, r] of await processor.process()) {
    const record = r as KinesisStreamRecord;
    const seq = padSequence(record.kinesis.sequenceNumber);
    run.rawSeqOf.set(seq, record.kinesis.sequenceNumber);
    outcome.maxRecordAgeMs = Math.max(
      outcome.maxRecordAgeMs,
      now.getTime() - record.kinesis.approximateArrivalTimestamp * 1000,
    );
    if (status === 'fail') fail(run, 'decode', result, [seq]);
    else if (result) events.push(result as StreamEvent);
  }
  return beforeFailure(run, events);
};

/**
 * Stage 3: apply identify links (and their merges) in order, then aim anonymous-only events at
 * the user their id is linked to. Nothing after a failed link may be applied.
 */
const applyIdentity = async (run: BatchRun, events: StreamEvent[]): Promise<StreamEvent[]> => {
  const { deps, outcome, now } = run;
  const identity = deps.identity;
  if (!identity) return events;
  for (const e of events) {
    if (e.event.type !== 'identify' || !e.event.anonymousId || !e.event.userId) continue;
    try {
      const link = await identity.link(e.event.anonymousId, e.event.userId, e.event.eventTime);
      outcome.links[link.outcome]++;
      if (link.outcome === 'linked') {
        const merged = await identity.merge(e.event.anonymousId, link.userId, deps.people, now);
        spend(run, merged.consumed);
        // The frozen anonymous profile gives up its rule tags.
        if (deps.onPersonChanged && merged.frozen)
          spend(run, await deps.onPersonChanged(e.event.anonymousId, merged.frozen, now));
      }
    } catch (error) {
      fail(run, 'identity', error, [e.seq]);
      break;
    }
  }
  const usable = beforeFailure(run, events);
  const anonymousOnly = [
    ...new Set(usable.filter((e) => !e.event.userId && e.event.anonymousId).map((e) => e.event.personKey)),
  ];
  const users =
    anonymousOnly.length > 0 ? await identity.resolveMany(anonymousOnly) : new Map<string, string>();
  return usable.map((e) => {
    const user = !e.event.userId ? users.get(e.event.personKey) : undefined;
    return user ? { ...e, event: { ...e.event, personKey: user }, via: e.event.personKey } : e;
  });
};

interface Judged {
  verdicts: Map<StreamEvent, Verdict>;
  effectsOf: Map<StreamEvent, Effect[]>;
  /** Records judged a bot's (user agent or behaviour): counted apart, in the bot counter only. */
  botsOf: Map<StreamEvent, BotReason>;
}

/** Stage 5: judge and write each person, retrying a person whose item another writer changed. */
const writePersons = async (run: BatchRun, events: StreamEvent[]): Promise<Judged> => {
  const { deps, outcome, now, limit } = run;
  const goals = (await deps.goals?.()) ?? new Map();
  const metrics = (await deps.experimentMetrics?.()) ?? new Map();
  const byPerson = new Map<string, StreamEvent[]>();
  for (const e of events) byPerson.set(e.event.personKey, [...(byPerson.get(e.event.personKey) ?? []), e]);
  const verdicts = new Map<StreamEvent, Verdict>();
  const effectsOf = new Map<StreamEvent, Effect[]>();
  const botsOf = new Map<StreamEvent, BotReason>();
  const loaded = await deps.people.load([...byPerson.keys()]);
  await Promise.all(
    [...byPerson].map(([personKey, personEvents]) =>
      limit(async () => {
        let key = personKey;
        let stored = loaded.people.get(personKey);
        try {
          for (let attempt = 0; stored && attempt < 8; attempt++) {
            // A profile merged away is frozen: its events go to the user it was merged into.
            if (stored.stats.mergedInto) {
              key = stored.stats.mergedInto;
              stored = (await deps.people.load([key])).people.get(key);
              continue;
            }
            const pendingMerge = await pendingMergeDedup(deps, stored.stats, personEvents);
            const sealed = await deps.people.sealedLookup([
              ...stored.stats.dedupPages,
              ...pendingMerge.pages,
            ]);
            const judged = judgeAndApply(stored.stats, personEvents, now, {
              goals,
              metrics,
              extraDedup: pendingMerge.inline,
              sealed: sealed.lookup,
              ...(deps.bots && { bots: deps.bots }),
            });
            for (const [i, e] of personEvents.entries()) {
              verdicts.set(e, judged.verdicts[i] as Verdict);
              effectsOf.set(e, judged.effects[i] ?? []);
              const bot = judged.bots[i];
              if (bot) botsOf.set(e, bot);
              else botsOf.delete(e);
            }
            if (!judged.next) return;
            // A very active id: its inline dedup entries go to a sealed page, written first (a
            // person pointing at a page that is not there yet would let a retry count twice).
            const seal = sealDedup(judged.next);
            if (seal) spend(run, await deps.people.putDedupPage(seal.ref, seal.page));
            // Predictions (docs/models.md): the person's scores by the published models, a dot product each.
            const next = (await deps.rescore?.(seal?.next ?? judged.next, now)) ?? seal?.next ?? judged.next;
            // Traits: hashed ones index the person for matching (a CRM's e-mail); idempotent, so first.
            spend(run, await deps.people.updateMatches(key, stored.stats, next));
            const written = await deps.people.save(next, stored.version);
            outcome.writeUnits += written.consumed;
            if (written.ok) {
              if (deps.onPersonChanged) spend(run, await deps.onPersonChanged(key, next, now));
              return;
            }
            stored = (await deps.people.load([key])).people.get(key);
          }
          throw new Error('person item kept changing under us (8 version conflicts)');
        } catch (error) {
          fail(
            run,
            'persons',
            error,
            personEvents.map((e) => e.seq),
          );
          for (const e of personEvents) verdicts.delete(e);
        }
      }),
    ),
  );
  return { verdicts, effectsOf, botsOf };
};

/**
 * Stage 6: counters — only records before any failure, so no checkpoint passes an unapplied
 * record. The shard registry first (a read sums exactly the shards it names), then the deltas.
 */
const writeCounters = async (run: BatchRun, events: StreamEvent[], judged: Judged) => {
  const { deps, now, limit } = run;
  const counted = beforeFailure(
    run,
    events.filter((e) => {
      const verdict = judged.verdicts.get(e);
      return verdict === 'new' || verdict === 'replay';
    }),
  ).map((e) => {
    const bot = judged.botsOf.get(e);
    // A bot's record counts in the campaign's bot counter only (aggregates.ts `botEvents`).
    return { ...e, ...(bot && { event: { ...e.event, bot } }), effects: judged.effectsOf.get(e) ?? [] };
  });
  const shardId = events[0]?.shardId;
  if (shardId === undefined) return;
  const deltas = foldCounters(counted, deps.idKey);
  const owners = new Map<string, { owner: ReturnType<typeof ownerOf>; seqs: string[] }>();
  for (const d of deltas) {
    const owner = ownerOf(d.target);
    const k = `${owner.kind}\u0000${owner.id}`;
    const entry = owners.get(k) ?? { owner, seqs: [] };
    entry.seqs.push(...d.contributions.map((c) => c.seq));
    owners.set(k, entry);
  }
  await Promise.all(
    [...owners.values()].map(({ owner, seqs }) =>
      limit(async () => {
        try {
          spend(run, await deps.counters.register(owner, shardId, now.toISOString()));
        } catch (error) {
          fail(run, 'register', error, seqs);
        }
      }),
    ),
  );
  await Promise.all(
    deltas.map((delta) =>
      limit(async () => {
        try {
          spend(run, await deps.counters.apply(shardId, delta));
        } catch (error) {
          fail(
            run,
            'counters',
            error,
            delta.contributions.map((c) => c.seq),
          );
        }
      }),
    ),
  );
};

export const applyBatch = async (
  records: readonly KinesisStreamRecord[],
  deps: BatchDeps,
): Promise<BatchOutcome> => {
  const run: BatchRun = {
    deps,
    now: deps.now?.() ?? new Date(),
    limit: pLimit(deps.concurrency ?? 16),
    rawSeqOf: new Map(),
    shardId: records[0] ? shardOf(records[0]) : undefined,
    failedAt: undefined,
    outcome: {
      applied: 0,
      replayed: 0,
      duplicates: 0,
      consentDropped: 0,
      links: { linked: 0, conflict: 0, self: 0 },
      quarantined: 0,
      writeUnits: 0,
      maxRecordAgeMs: 0,
      errors: {},
    },
  };
  const decoded = await decodeRecords(run, records);
  const identifies = await admitIdentifies(run, decoded);
  const aimed = await applyIdentity(run, identifies);
  const usable = await admitByPerson(run, aimed);
  run.outcome.consentDropped = decoded.length - identifies.length + (aimed.length - usable.length);
  const judged = await writePersons(run, usable);
  await writeCounters(run, usable, judged);

  const verdictList = [...judged.verdicts.values()];
  run.outcome.applied = verdictList.filter((v) => v === 'new').length;
  run.outcome.replayed = verdictList.filter((v) => v === 'replay').length;
  run.outcome.duplicates = verdictList.filter((v) => v === 'duplicate').length;
  if (run.failedAt !== undefined) run.outcome.failedFrom = run.rawSeqOf.get(run.failedAt);
  return run.outcome;
};

// ---- archive: the same admission, read only (functions/archive/transform.ts) ----------------------

/**
 * The events of a batch the read models may see, judged as stages 2–4 judge them but writing
 * nothing: identify events by their own ids' consent, anonymous-only events aimed at the user
 * their id is already linked to, every other event by its person's consent and erasure markers.
 * The archive's Firehose transformation runs it, so the archive holds what the read models hold.
 */
export const admitReadOnly = async (
  events: StreamEvent[],
  consentGate: ConsentGate | undefined,
  identity: Pick<IdentityRepository, 'resolveMany' | 'linkedIds'>,
): Promise<StreamEvent[]> => {
  // Stages 2 and 4 read nothing of a run but its dependencies.
  const run = { deps: { consentGate, identity } } as unknown as BatchRun;
  const identifies = await admitIdentifies(run, events);
  const anonymousOnly = [...new Set(identifies.filter((e) => !e.event.userId).map((e) => e.event.personKey))];
  const users =
    anonymousOnly.length > 0 ? await identity.resolveMany(anonymousOnly) : new Map<string, string>();
  const aimed = identifies.map((e) => {
    const user = e.event.userId ? undefined : users.get(e.event.personKey);
    return user ? { ...e, event: { ...e.event, personKey: user } } : e;
  });
  return admitByPerson(run, aimed);
};
