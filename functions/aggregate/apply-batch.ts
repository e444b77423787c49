/**
 * Applying one stream batch to the read models, exactly once:
 *
 *  1. decode each record; a record that cannot be decoded is quarantined (payload and
 *     reason) and skipped, so poison never blocks the shard;
 *  2. load every person of the batch, judge each record (new, or a client retry already
 *     counted) and write each person whole, version-checked — persons first, so verdicts are
 *     final before anything counts them;
 *  3. fold the new events into one delta per campaign counter and apply each with its
 *     sequence checkpoint.
 *
 * Every item carries its own checkpoint, so any redelivery (retry, bisection, resume from the
 * lowest failed record, a crash between two writes) re-applies exactly what each item lacks.
 * A failure stops at the lowest record whose effects are not all written: the answer names it
 * and Lambda resumes there.
 */
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { KinesisStreamRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import type { ConsentRepository } from '../adapters/consent-repository';
import type { IdentityRepository, LinkOutcome } from '../adapters/identity-repository';
import type { MetricsRepository } from '../adapters/metrics-repository';
import type { PeopleRepository } from '../adapters/people-repository';
import { idsOfStreamRecord, type QuarantineRepository } from '../adapters/quarantine-repository';
import { foldCounters, ownerOf } from '../core/campaign-counters';
import { decodeCanonical } from '../core/envelope';
import {
  type Effect,
  type Goal,
  judgeAndApply,
  type PersonStats,
  padSequence,
  type StreamEvent,
  type Verdict,
} from '../core/person';
import { keyedIdHash } from '../core/signing';

/**
 * Dedup state of anonymous profiles frozen into this user but not folded in yet (a merge
 * interrupted between its two writes): a client retry of their events is still a duplicate.
 */
const pendingMergeDedup = async (
  deps: BatchDeps,
  user: PersonStats,
  events: readonly (StreamEvent & { via?: string })[],
): Promise<Record<string, Uint8Array>[] | undefined> => {
  const pending = [...new Set(events.flatMap((e) => (e.via && !user.merged.includes(e.via) ? [e.via] : [])))];
  if (pending.length === 0) return undefined;
  const { people } = await deps.people.load(pending);
  return pending.flatMap((id) => {
    const p = people.get(id);
    return p?.stats.mergedInto === user.personKey ? [p.stats.dedup] : [];
  });
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
  /** After a person's stats changed (segment rules): returns write units used. */
  onPersonChanged?: (personKey: string, stats: PersonStats, now: Date) => Promise<number>;
  /** Key for the person hashes in unique-user sets. */
  idKey?: Uint8Array;
  now?: () => Date;
  concurrency?: number;
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
}

const admitted = async (events: StreamEvent[], gate: ConsentGate): Promise<StreamEvent[]> => {
  if (events.length === 0) return events;
  const idsOf = (e: StreamEvent) =>
    [e.event.userId, e.event.anonymousId].filter((id): id is string => id !== undefined);
  const ids = [...new Set(events.flatMap(idsOf))];
  const hashOf = new Map(ids.map((id) => [id, keyedIdHash(gate.key, id)]));
  const [erased, current] = await Promise.all([
    gate.consent.erasedAmong([...hashOf.values()]),
    gate.required ? gate.consent.currentFor(ids) : Promise.resolve(new Map()),
  ]);
  return events.filter((e) => {
    const eventIds = idsOf(e);
    if (eventIds.some((id) => erased.has(hashOf.get(id) as string))) return false;
    if (!gate.required) return true;
    const states = eventIds.map((id) => current.get(id)?.purposes.analytics);
    return !states.includes(false) && states.includes(true);
  });
};

const shardOf = (r: KinesisStreamRecord) => r.eventID.slice(0, r.eventID.lastIndexOf(':'));

export const applyBatch = async (
  records: readonly KinesisStreamRecord[],
  deps: BatchDeps,
): Promise<BatchOutcome> => {
  const now = deps.now?.() ?? new Date();
  const limit = pLimit(deps.concurrency ?? 16);
  const outcome: BatchOutcome = {
    applied: 0,
    replayed: 0,
    duplicates: 0,
    consentDropped: 0,
    links: { linked: 0, conflict: 0, self: 0 },
    quarantined: 0,
    writeUnits: 0,
    maxRecordAgeMs: 0,
  };
  // `outcome.writeUnits += await …` would read the total before the await and lose the
  // concurrent writers' units: always add after the await, through this.
  const spend = (units: number) => {
    outcome.writeUnits += units;
  };
  const rawSeqOf = new Map<string, string>();
  let failedAt: string | undefined; // padded
  const fail = (seq: string) => {
    if (failedAt === undefined || seq < failedAt) failedAt = seq;
  };

  // 1. decode; quarantine poison. Powertools' BatchProcessor runs the per-record step and
  // captures the records whose handling failed (a quarantine write that did not go through).
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  processor.register(
    [...records],
    async (r: KinesisStreamRecord): Promise<StreamEvent | undefined> => {
      const seq = padSequence(r.kinesis.sequenceNumber);
      const data = Buffer.from(r.kinesis.data, 'base64').toString('utf8');
      const decoded = decodeCanonical(data);
      if (decoded.ok) return { shardId: shardOf(r), seq, event: decoded.event };
      spend(
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
    rawSeqOf.set(seq, record.kinesis.sequenceNumber);
    outcome.maxRecordAgeMs = Math.max(
      outcome.maxRecordAgeMs,
      now.getTime() - record.kinesis.approximateArrivalTimestamp * 1000,
    );
    // Nothing after an unhandled record may be applied: Lambda resumes from it.
    if (status === 'fail') fail(seq);
    else if (result) events.push(result as StreamEvent);
  }
  const decoded = failedAt === undefined ? events : events.filter((e) => e.seq < (failedAt as string));
  const admittedEvents = deps.consentGate ? await admitted(decoded, deps.consentGate) : decoded;
  outcome.consentDropped = decoded.length - admittedEvents.length;

  // 2. identity: apply identify links (and their merges) in order, then aim anonymous-only
  // events at the user their id is linked to. Nothing after a failed link may be applied.
  let usable = admittedEvents;
  if (deps.identity) {
    for (const e of admittedEvents) {
      if (e.event.type !== 'identify' || !e.event.anonymousId || !e.event.userId) continue;
      try {
        const link = await deps.identity.link(e.event.anonymousId, e.event.userId, e.event.eventTime);
        outcome.links[link.outcome]++;
        if (link.outcome === 'linked') {
          const merged = await deps.identity.merge(e.event.anonymousId, link.userId, deps.people, now);
          spend(merged.consumed);
          // The frozen anonymous profile gives up its rule tags.
          if (deps.onPersonChanged && merged.frozen)
            spend(await deps.onPersonChanged(e.event.anonymousId, merged.frozen, now));
        }
      } catch {
        fail(e.seq);
        break;
      }
    }
    usable =
      failedAt === undefined ? admittedEvents : admittedEvents.filter((e) => e.seq < (failedAt as string));
    const anonymousOnly = [
      ...new Set(usable.filter((e) => !e.event.userId && e.event.anonymousId).map((e) => e.event.personKey)),
    ];
    const users =
      anonymousOnly.length > 0 ? await deps.identity.resolveMany(anonymousOnly) : new Map<string, string>();
    usable = usable.map((e) => {
      const user = !e.event.userId ? users.get(e.event.personKey) : undefined;
      return user ? { ...e, event: { ...e.event, personKey: user }, via: e.event.personKey } : e;
    });
  }

  // 3. persons: judge and write, retrying a person whose item another writer changed
  const goals = (await deps.goals?.()) ?? new Map();
  const byPerson = new Map<string, StreamEvent[]>();
  for (const e of usable) byPerson.set(e.event.personKey, [...(byPerson.get(e.event.personKey) ?? []), e]);
  const verdicts = new Map<StreamEvent, Verdict>();
  const effectsOf = new Map<StreamEvent, Effect[]>();
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
            const extraDedup = await pendingMergeDedup(deps, stored.stats, personEvents);
            const judged = judgeAndApply(stored.stats, personEvents, now, { goals, extraDedup });
            for (const [i, e] of personEvents.entries()) {
              verdicts.set(e, judged.verdicts[i] as Verdict);
              effectsOf.set(e, judged.effects[i] ?? []);
            }
            if (!judged.next) return;
            const written = await deps.people.save(judged.next, stored.version);
            outcome.writeUnits += written.consumed;
            if (written.ok) {
              if (deps.onPersonChanged) spend(await deps.onPersonChanged(key, judged.next, now));
              return;
            }
            stored = (await deps.people.load([key])).people.get(key);
          }
          throw new Error('person kept changing under us');
        } catch {
          fail(personEvents[0]?.seq as string);
          for (const e of personEvents) verdicts.delete(e);
        }
      }),
    ),
  );

  // 4. counters: only records before any failure, so no checkpoint passes an unapplied record
  const counted = usable
    .filter((e) => {
      const verdict = verdicts.get(e);
      return (verdict === 'new' || verdict === 'replay') && (failedAt === undefined || e.seq < failedAt);
    })
    .map((e) => ({ ...e, effects: effectsOf.get(e) ?? [] }));
  const verdictList = [...verdicts.values()];
  outcome.applied = verdictList.filter((v) => v === 'new').length;
  outcome.replayed = verdictList.filter((v) => v === 'replay').length;
  outcome.duplicates = verdictList.filter((v) => v === 'duplicate').length;
  const shardId = usable[0]?.shardId;
  if (shardId !== undefined) {
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
          const units = await deps.counters.register(owner, shardId, now.toISOString()).catch(() => {
            fail(seqs.sort()[0] as string);
            return 0;
          });
          spend(units);
        }),
      ),
    );
    await Promise.all(
      deltas.map((delta) =>
        limit(async () => {
          try {
            spend(await deps.counters.apply(shardId, delta));
          } catch {
            fail(delta.contributions.map((c) => c.seq).sort()[0] as string);
          }
        }),
      ),
    );
  }
  if (failedAt !== undefined) outcome.failedFrom = rawSeqOf.get(failedAt);
  return outcome;
};
