import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricRollups } from '../../functions/adapters/metric-rollups';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import type { CounterDelta } from '../../functions/core/campaign-counters';
import { campaignReport, metricsQuerySchema } from '../../functions/core/metrics-report';
import { personHash } from '../../functions/core/uniques';
import { runCompaction } from '../../functions/metrics/compactor';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let metrics: MetricsRepository;
let rollups: MetricRollups;
/** Items DynamoDB returned (GetItem, Query), counted on the client. */
let itemsRead = 0;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  db.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const o = out.output as { Items?: unknown[]; Item?: unknown };
      itemsRead += o.Items?.length ?? (o.Item ? 1 : 0);
      return out;
    },
    { step: 'initialize', name: 'countItems' },
  );
  metrics = new MetricsRepository(db, emulators.names.tables.metrics);
  rollups = new MetricRollups(db, emulators.names.tables.metrics, metrics);
});
afterAll(() => emulators.close());

const DAY = 86_400_000;
const START = Date.parse('2025-06-01T00:00:00Z');
const seq = (n: number) => String(n).padStart(56, '0');
const SHARDS = [
  'shardId-000000000000',
  'shardId-000000000001',
  'shardId-000000000002',
  'shardId-000000000003',
];

const delta = (campaignId: string, quarter: string, n: number, first: number): CounterDelta => ({
  target: { kind: 'campaign', campaignId, bucket: quarter },
  contributions: Array.from({ length: n }, (_, i) => ({
    seq: seq(first + i),
    fields: { n: 1, [i % 2 ? 't_click' : 't_view']: 1, d_mobile: 1, ...(i % 3 === 0 && { r_EUR: 1.25 }) },
    person: personHash(`p-${(first + i) % 37}`),
  })),
});

/** A year of traffic: three quarters a day (one near midnight) on every shard. */
const writeYear = async (campaignId: string) => {
  await Promise.all(
    SHARDS.map(async (shard, s) => {
      let next = 1;
      await metrics.register({ kind: 'campaign', id: campaignId }, shard, new Date(START).toISOString());
      for (let d = 0; d < 365; d++) {
        for (const hhmm of ['00:15', '12:30', '23:45']) {
          const quarter = `${new Date(START + d * DAY).toISOString().slice(0, 10)}T${hhmm}`;
          const n = 1 + ((d + s) % 3);
          // Written as it happened: not late for any rollup.
          await metrics.apply(shard, delta(campaignId, quarter, n, next), Date.parse(`${quarter}:00Z`));
          next += n;
        }
      }
    }),
  );
};

const rawRows = async (campaignId: string) =>
  (await Promise.all(SHARDS.map((s) => metrics.quarters(campaignId, s, '0000', '9999')))).flat();

const report = async (campaignId: string, q: Record<string, string>) => {
  const query = metricsQuerySchema.parse({ granularity: 'day', ...q });
  const registry = await metrics.campaign(campaignId);
  if (!registry) throw new Error('no campaign');
  const { resolveRange } = await import('../../functions/core/metrics-report');
  const { fromQuarter, toQuarter } = resolveRange(query);
  itemsRead = 0;
  const rows = await rollups.dayReportRows(campaignId, registry, fromQuarter, toQuarter);
  const read = itemsRead;
  return {
    read,
    fromRollups: campaignReport(campaignId, query, rows),
    raw: campaignReport(campaignId, query, await rawRows(campaignId)),
  };
};

const compact = (nowMs: number) => runCompaction({ metrics, rollups }, new Date(nowMs), Date.now() + 60_000);

describe('day rollups against dynalite', () => {
  const YEAR = { from: '2025-06-01', to: '2026-06-01' };

  it('reads a 365-day report in about one item per day, equal to the sum of the raw rows', async () => {
    await writeYear('year');
    const before = await report('year', YEAR);
    // Nothing rolled up yet: every quarter row of every shard.
    expect(before.read).toBe(365 * 3 * SHARDS.length);
    expect(before.fromRollups).toEqual(before.raw);

    const result = await compact(START + 366 * DAY + 3 * 3_600_000);
    expect(result).toMatchObject({ unfinished: false, raced: 0 });
    // A year is caught up over several runs (DAYS_PER_RUN a run).
    while ((await compact(START + 366 * DAY + 3 * 3_600_000)).days > 0);

    const after = await report('year', YEAR);
    expect(after.fromRollups).toEqual(after.raw);
    expect(after.fromRollups.uniqueUsersEstimated).toBeUndefined();
    expect(after.fromRollups.events).toBeGreaterThan(365 * 3 * SHARDS.length);
    // One item per day, whatever the shard count.
    expect(after.read).toBeLessThanOrEqual(365);
  }, 120_000);

  it('stays exact in a zone whose days cut UTC days (raw rows for the two partial days only); a day bucket’s persons come from whole UTC days, flagged', async () => {
    const q = { ...YEAR, tz: 'Asia/Kolkata' };
    const { read, fromRollups, raw } = await report('year', q);
    // Counts and the range's persons are exact.
    const { series: rolledSeries, ...rolled } = fromRollups;
    const { series: rawSeries, ...exact } = raw;
    expect(rolled).toEqual(exact);
    expect(rolledSeries.map(({ uniqueUsers, uniqueUsersEstimated, ...b }) => b)).toEqual(
      rawSeries.map(({ uniqueUsers, uniqueUsersEstimated, ...b }) => b),
    );
    // A local day takes the persons of the UTC day it starts in: flagged as not exact.
    rolledSeries.forEach((b, i) => {
      const truth = rawSeries[i] as (typeof rawSeries)[number];
      if (b.uniqueUsers !== truth.uniqueUsers) expect(b.uniqueUsersEstimated).toBe(true);
    });
    expect(rolledSeries.some((b) => b.uniqueUsersEstimated)).toBe(true);
    expect(read).toBeLessThanOrEqual(365 + 2 * 3 * SHARDS.length);
  });

  it('reads a day written after its rollup raw until compaction folds it again', async () => {
    const day = '2025-09-10';
    const late = Date.parse('2026-07-01T00:00:00Z');
    await metrics.apply(SHARDS[1] as string, delta('year', `${day}T08:00`, 5, 10_000_000), late);
    const registry = await metrics.campaign('year');
    expect(registry?.lateDays).toEqual([day]);

    const stale = await report('year', YEAR);
    expect(stale.fromRollups).toEqual(stale.raw);
    expect(stale.fromRollups.events).toBe((await report('year', YEAR)).raw.events);
    // The stale day's raw rows (that day on every shard) replace its rollup.
    expect(stale.read).toBeLessThanOrEqual(364 + 4 * SHARDS.length);

    // A redelivery of the same records changes nothing but marks again.
    await metrics.apply(SHARDS[1] as string, delta('year', `${day}T08:00`, 5, 10_000_000), late);
    expect((await report('year', YEAR)).fromRollups).toEqual(stale.fromRollups);

    await compact(late);
    expect((await metrics.campaign('year'))?.lateDays).toEqual([]);
    const folded = await report('year', YEAR);
    expect(folded.fromRollups).toEqual(stale.raw);
    expect(folded.read).toBeLessThanOrEqual(365);
  });
});
