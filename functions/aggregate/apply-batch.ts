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
import type { MetricsRepository } from '../adapters/metrics-repository';
import type { PeopleRepository } from '../adapters/people-repository';
import type { QuarantineRepository } from '../adapters/quarantine-repository';
import { foldCampaignCounters } from '../core/campaign-counters';
import { decodeCanonical } from '../core/envelope';
import { judgeAndApply, padSequence, type StreamEvent, type Verdict } from '../core/person';
import { keyedIdHash } from '../core/signing';

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
    quarantined: 0,
    writeUnits: 0,
    maxRecordAgeMs: 0,
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
      const decoded = decodeCanonical(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
      if (decoded.ok) return { shardId: shardOf(r), seq, event: decoded.event };
      outcome.writeUnits += await deps.quarantine.put({
        personKey: r.kinesis.partitionKey,
        reason: decoded.reason,
        origin: `stream:${shardOf(r)}`,
        position: r.kinesis.sequenceNumber,
        payload: r.kinesis.data,
        receivedAt: new Date(r.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
      });
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
  const usable = deps.consentGate ? await admitted(decoded, deps.consentGate) : decoded;
  outcome.consentDropped = decoded.length - usable.length;

  // 2. persons: judge and write, retrying a person whose item another writer changed
  const byPerson = new Map<string, StreamEvent[]>();
  for (const e of usable) byPerson.set(e.event.personKey, [...(byPerson.get(e.event.personKey) ?? []), e]);
  const verdicts = new Map<StreamEvent, Verdict>();
  const loaded = await deps.people.load([...byPerson.keys()]);
  outcome.writeUnits += 0; // reads are not writes; loaded.consumed counts read units
  await Promise.all(
    [...byPerson].map(([personKey, personEvents]) =>
      limit(async () => {
        let stored = loaded.people.get(personKey);
        try {
          for (let attempt = 0; stored && attempt < 5; attempt++) {
            const judged = judgeAndApply(stored.stats, personEvents, now);
            for (const [i, e] of personEvents.entries()) verdicts.set(e, judged.verdicts[i] as Verdict);
            if (!judged.next) return;
            const written = await deps.people.save(judged.next, stored.version);
            outcome.writeUnits += written.consumed;
            if (written.ok) return;
            stored = (await deps.people.load([personKey])).people.get(personKey);
          }
          throw new Error('person kept changing under us');
        } catch {
          fail(personEvents[0]?.seq as string);
          for (const e of personEvents) verdicts.delete(e);
        }
      }),
    ),
  );

  // 3. counters: only records before any failure, so no checkpoint passes an unapplied record
  const counted = usable.filter((e) => {
    const verdict = verdicts.get(e);
    return (verdict === 'new' || verdict === 'replay') && (failedAt === undefined || e.seq < failedAt);
  });
  const verdictList = [...verdicts.values()];
  outcome.applied = verdictList.filter((v) => v === 'new').length;
  outcome.replayed = verdictList.filter((v) => v === 'replay').length;
  outcome.duplicates = verdictList.filter((v) => v === 'duplicate').length;
  const shardId = usable[0]?.shardId;
  if (shardId !== undefined) {
    const campaigns = new Map<string, string>();
    for (const e of counted)
      if (e.event.campaignId && !campaigns.has(e.event.campaignId))
        campaigns.set(e.event.campaignId, e.event.eventTime);
    await Promise.all(
      [...campaigns].map(([campaignId, firstSeen]) =>
        limit(async () => {
          outcome.writeUnits += await deps.counters.register(campaignId, shardId, firstSeen).catch(() => {
            fail(counted.find((e) => e.event.campaignId === campaignId)?.seq as string);
            return 0;
          });
        }),
      ),
    );
    await Promise.all(
      foldCampaignCounters(counted, deps.idKey).map((delta) =>
        limit(async () => {
          try {
            outcome.writeUnits += await deps.counters.apply(shardId, delta);
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
