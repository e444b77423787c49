import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import { PERSON_RETENTION_DAYS, PeopleRepository } from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { applyBatch, type BatchDeps, type StageFailure } from '../../functions/aggregate/apply-batch';
import type { CanonicalEvent } from '../../functions/core/events';
import { quarterOf } from '../../functions/core/time-buckets';
import { countUniques } from '../../functions/core/uniques';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { canonicalEvent, SHARD, sequenceNumber, toRecord, truth } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let deps: BatchDeps;
let runs = 0;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  deps = {
    people: new PeopleRepository(db, emulators.names.tables.users),
    counters: new MetricsRepository(db, emulators.names.tables.metrics),
    quarantine: new QuarantineRepository(db, emulators.names.tables.quarantine),
  };
});
afterAll(() => emulators.close());

const counts = async (campaignId: string) => {
  const repo = new MetricsRepository(db, emulators.names.tables.metrics);
  const shards = (await repo.campaignShards(campaignId)) ?? [];
  const totals = await repo.totals(campaignId, shards);
  const rows = (await Promise.all(shards.map((s) => repo.quarters(campaignId, s, '0000', '9999')))).flat();
  const fromQuarters: Record<string, number> = {};
  for (const r of rows)
    for (const [k, v] of Object.entries(r.counts)) fromQuarters[k] = (fromQuarters[k] ?? 0) + v;
  return { totals, fromQuarters, uniques: countUniques(rows.map((r) => r.uniques)) };
};

/** A workload with client retries: some events appear again later under a new record. */
const workload = (campaigns: string[], size: number, seed: number) => {
  const events: CanonicalEvent[] = [];
  for (let i = 0; i < size; i++) {
    const retryOf = i > 3 && (i * 7 + seed) % 5 === 0 ? events[(i * 13 + seed) % i] : undefined;
    events.push(
      retryOf ?? {
        ...canonicalEvent({
          campaignId: campaigns[(i + seed) % campaigns.length],
          personKey: `p-${seed}-${(i * 31) % 11}`,
          deviceType: (['mobile', 'desktop', 'tv'] as const)[i % 3],
          channel: i % 4 === 0 ? undefined : 'web',
        }),
      },
    );
  }
  return events;
};

const expectExact = async (events: CanonicalEvent[]) => {
  const t = truth(events);
  for (const [campaignId, expected] of t.totals) {
    const got = await counts(campaignId);
    expect(got.totals).toEqual(expected);
    expect(got.fromQuarters).toEqual(expected);
    expect(got.uniques).toEqual({ count: t.persons.get(campaignId)?.size, estimated: false });
  }
};

describe('applyBatch against dynalite', () => {
  it('counts a batch with client retries once per event id', async () => {
    const events = workload(['a1', 'a2'], 60, 1);
    const records = events.map((e, i) => toRecord(e, i));
    const outcome = await applyBatch(records, deps);
    expect(outcome.failedFrom).toBeUndefined();
    expect(outcome.applied + outcome.duplicates).toBe(60);
    expect(outcome.duplicates).toBeGreaterThan(0);
    await expectExact(events);
  });

  it('is idempotent under redelivery of the same batch, halves (bisection) and overlaps', async () => {
    const events = workload(['b1', 'b2', 'b3'], 80, 2);
    const records = events.map((e, i) => toRecord(e, i));
    await applyBatch(records.slice(0, 40), deps);
    await applyBatch(records.slice(0, 20), deps);
    await applyBatch(records.slice(40), deps);
    await applyBatch(records, deps);
    const again = await applyBatch(records.slice(30, 70), deps);
    expect(again.applied).toBe(0);
    expect(again.replayed + again.duplicates).toBe(40);
    await expectExact(events);
  });

  it('quarantines poison records with payload and reason, and goes on with the batch', async () => {
    const events = workload(['c1'], 10, 3);
    const records = [
      ...events.map((e, i) => toRecord(e, i)),
      toRecord('{not json', 10),
      toRecord('{"v":99}', 11),
    ];
    const outcome = await applyBatch(records, deps);
    expect(outcome).toMatchObject({ quarantined: 2 });
    expect(outcome.failedFrom).toBeUndefined();
    const { Items: items = [] } = await db.send(
      new ScanCommand({ TableName: emulators.names.tables.quarantine }),
    );
    // The entries (payload and reason), beside an index item under the id each names.
    const Items = items.filter((i) => i.sk === 'entry');
    expect(Items.map((i) => i.reason).sort()).toEqual([
      'payload is not JSON',
      'unsupported envelope version 99',
    ]);
    expect(Items.every((i) => typeof i.payload === 'string' && typeof i.expiresAt === 'number')).toBe(true);
    await expectExact(events);
  });

  it('turns a bucket past the exact cap into a sketch, within 2 %', async () => {
    const events = Array.from({ length: 1500 }, (_, i) =>
      canonicalEvent({ campaignId: 'big', personKey: `big-${i}`, eventTime: '2026-06-01T10:05:00.000Z' }),
    );
    for (let i = 0; i < events.length; i += 500)
      await applyBatch(
        events.slice(i, i + 500).map((e, j) => toRecord(e, i + j)),
        deps,
      );
    const got = await counts('big');
    expect(got.totals.n).toBe(1500);
    expect(got.uniques.estimated).toBe(true);
    expect(Math.abs(got.uniques.count - 1500) / 1500).toBeLessThan(0.02);
    expect(quarterOf('2026-06-01T10:05:00.000Z')).toBe('2026-06-01T10:00');
  });

  it('resumes after a crash between writes and still counts every event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(
          fc.record({ back: fc.nat(30), length: fc.integer({ min: 1, max: 40 }), crashAfter: fc.nat(12) }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (seed, schedule) => {
          // Fresh campaigns and persons per run: shrinking re-runs a seed with other schedules.
          const run = ++runs;
          const campaigns = [`r${run}a`, `r${run}b`];
          const events = workload(campaigns, 50, seed).map((e) => ({
            ...e,
            personKey: `${run}-${e.personKey}`,
          }));
          const records = events.map((e, i) => toRecord(e, i));
          let progress = 0;
          const deliver = async (from: number, to: number, crashAfter?: number) => {
            let writes = 0;
            const crash = () => {
              if (crashAfter !== undefined && writes++ >= crashAfter) throw new Error('injected crash');
            };
            const reported: StageFailure[] = [];
            const faulty: BatchDeps = {
              ...deps,
              onError: (failure) => reported.push(failure),
              people: Object.assign(Object.create(deps.people), {
                save: async (...a: Parameters<PeopleRepository['save']>) => {
                  crash();
                  return deps.people.save(...a);
                },
              }),
              counters: Object.assign(Object.create(deps.counters), {
                apply: async (...a: Parameters<MetricsRepository['apply']>) => {
                  crash();
                  return deps.counters.apply(...a);
                },
              }),
            };
            const outcome = await applyBatch(records.slice(from, to), faulty);
            // Every failure is reported with its cause and the records it holds back.
            expect(reported.length > 0).toBe(outcome.failedFrom !== undefined);
            if (outcome.failedFrom)
              expect(
                reported.some(
                  (f) =>
                    f.sequenceNumbers.includes(outcome.failedFrom as string) &&
                    (f.error as Error).message === 'injected crash' &&
                    f.shardId === 'shardId-000000000000',
                ),
              ).toBe(true);
            // Lambda resumes from the lowest failed record; without a failure, after the batch.
            const failed = outcome.failedFrom
              ? records.findIndex((r) => r.kinesis.sequenceNumber === outcome.failedFrom)
              : -1;
            progress = Math.max(progress, failed >= 0 ? failed : to);
            if (failed >= 0) progress = failed;
          };
          for (const step of schedule) {
            const from = Math.max(0, progress - step.back);
            await deliver(from, Math.min(records.length, from + step.length), step.crashAfter);
          }
          while (progress < records.length) await deliver(progress, records.length);
          await expectExact(events);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('keeps sequence checkpoints as fixed-width strings', async () => {
    const e = canonicalEvent({ campaignId: 'cp', personKey: 'cp-person' });
    await applyBatch([toRecord(e, 5)], deps);
    const { Items = [] } = await db.send(new ScanCommand({ TableName: emulators.names.tables.metrics }));
    const item = Items.find((i) => i.pk === `c#cp#${SHARD}` && i.sk === 'total');
    expect(item?.cp).toBe(sequenceNumber(5).padStart(64, '0'));
    expect(typeof item?.cp).toBe('string');
  });
});

describe('retention', () => {
  it('stamps person items with a TTL from their last activity, and treats expired items as absent', async () => {
    const e = canonicalEvent({
      campaignId: 'ttl',
      personKey: 'ttl-person',
      eventTime: new Date().toISOString(),
    });
    await applyBatch([toRecord(e, 900)], deps);
    const { Items = [] } = await db.send(new ScanCommand({ TableName: emulators.names.tables.users }));
    const item = Items.find((i) => i.pk === 'person#ttl-person');
    const expected = Math.floor(Date.parse(e.eventTime) / 1000) + PERSON_RETENTION_DAYS * 86_400;
    expect(item?.expiresAt).toBe(expected);
    // TTL deletes late (days on AWS, never on dynalite): a reader past expiry sees nothing.
    const later = new PeopleRepository(
      db,
      emulators.names.tables.users,
      () => new Date((expected + 1) * 1000),
    );
    const { people } = await later.load(['ttl-person']);
    expect(people.get('ttl-person')?.version).toBe(0);
  });
});
