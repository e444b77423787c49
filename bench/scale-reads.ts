/**
 * Read costs that grow with history or audience (bench `scale`), each against its baseline in the
 * same run, against dynalite in process:
 *
 *  - yearReport: a campaign report over 365 days at day granularity, with 4 and 16 stream shards:
 *    read units, items and time from the day rollups (functions/core/day-rollups.ts) against
 *    reading every quarter-hour row of every shard (the read before rollups), and the time the
 *    compaction takes to roll the year up.
 *  - segmentSize: the size of a large segment from its counter (segment-sizes.ts: SIZE_SHARDS
 *    small items) against counting its membership partition, as GET /api/segments did. Counting
 *    is measured over 100,000 members and extrapolated linearly to 1,000,000 (a count reads every
 *    membership item: its cost is proportional to the members, page after page).
 *
 * Read units are DynamoDB's own accounting as dynalite reports it (ReturnConsumedCapacity on every
 * read, added by a middleware): 4 KB per unit, half for eventually consistent reads.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { batchWriteAll } from '../functions/adapters/dynamo';
import { MetricRollups } from '../functions/adapters/metric-rollups';
import { counterPk, MetricsRepository } from '../functions/adapters/metrics-repository';
import { SegmentSizes, SIZE_SHARDS } from '../functions/adapters/segment-sizes';
import { SegmentsRepository } from '../functions/adapters/segments-repository';
import { sizeKey } from '../functions/adapters/tags-table';
import { campaignReport, metricsQuerySchema, resolveRange } from '../functions/core/metrics-report';
import { personHash } from '../functions/core/uniques';
import { runCompaction } from '../functions/metrics/compactor';
import { documentClientOf, withEmulators } from './aggregate';

const round = (n: number, digits = 2) => +n.toFixed(digits);

/** Counts read units and items on every read the client sends (asking DynamoDB for the units). */
const meteredClient = (db: DynamoDBDocumentClient) => {
  const meter = { units: 0, items: 0, calls: 0 };
  db.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity ??= 'TOTAL';
      const out = await next(args);
      const o = out.output as {
        Items?: unknown[];
        Item?: unknown;
        Count?: number;
        Responses?: Record<string, unknown[]>;
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
      };
      const capacity = Array.isArray(o.ConsumedCapacity) ? o.ConsumedCapacity : [o.ConsumedCapacity];
      const reads = o.Items ?? o.Item ?? o.Responses ?? o.Count !== undefined;
      if (reads) {
        meter.calls++;
        meter.units += capacity.reduce((n, c) => n + (c?.CapacityUnits ?? 0), 0);
        meter.items +=
          o.Items?.length ??
          (o.Item ? 1 : 0) + Object.values(o.Responses ?? {}).reduce((n, r) => n + r.length, 0);
      }
      return out;
    },
    { step: 'initialize', name: 'meterReads' },
  );
  const take = () => {
    const taken = { ...meter };
    meter.units = 0;
    meter.items = 0;
    meter.calls = 0;
    return taken;
  };
  return { take };
};

// ---- a year of metrics ---------------------------------------------------------------------

const DAY_MS = 86_400_000;
const YEAR_START = Date.parse('2025-01-01T00:00:00Z');
/** Active quarters per day and shard: every other hour's first quarter (a steady campaign). */
const QUARTERS_PER_DAY = 12;

/** Quarter rows as the consumer leaves them: counters, the person set, the checkpoint. */
const seedYear = async (db: DynamoDBDocumentClient, table: string, campaignId: string, shards: string[]) => {
  const metrics = new MetricsRepository(db, table);
  const rows = shards.flatMap((shard, s) =>
    Array.from({ length: 365 * QUARTERS_PER_DAY }, (_, i) => {
      const day = new Date(YEAR_START + Math.floor(i / QUARTERS_PER_DAY) * DAY_MS).toISOString().slice(0, 10);
      const hour = String(2 * (i % QUARTERS_PER_DAY)).padStart(2, '0');
      const persons = Array.from({ length: 3 }, (_, p) => personHash(`p-${s}-${(i * 7 + p) % 500}`));
      return {
        PutRequest: {
          Item: {
            pk: counterPk(campaignId, shard),
            sk: `q#${day}T${hour}:00`,
            n: 6,
            t_view: 4,
            t_click: 2,
            d_mobile: 5,
            d_desktop: 1,
            c_web: 6,
            uu: new Set(persons),
            cp: String(i).padStart(56, '0'),
          },
        },
      };
    }),
  );
  const limit = pLimit(8);
  const chunks = Array.from({ length: Math.ceil(rows.length / 500) }, (_, c) =>
    rows.slice(c * 500, (c + 1) * 500),
  );
  await Promise.all(chunks.map((chunk) => limit(() => batchWriteAll(db, table, chunk))));
  for (const shard of shards)
    await metrics.register({ kind: 'campaign', id: campaignId }, shard, new Date(YEAR_START).toISOString());
};

const countsOf = ({ uniqueUsers, uniqueUsersEstimated, ...counts }: ReturnType<typeof campaignReport>) =>
  counts;

const yearFor = async (shardCount: number) =>
  withEmulators(async (emulators) => {
    const db = documentClientOf(emulators);
    const meter = meteredClient(db);
    const table = emulators.names.tables.metrics;
    const metrics = new MetricsRepository(db, table);
    const rollups = new MetricRollups(db, table, metrics);
    const campaignId = 'year';
    const shards = Array.from({ length: shardCount }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
    await seedYear(db, table, campaignId, shards);
    const query = metricsQuerySchema.parse({ from: '2025-01-01', to: '2026-01-01', granularity: 'day' });
    const { fromQuarter, toQuarter } = resolveRange(query);

    // Baseline: every quarter row of every shard (the read before rollups).
    meter.take();
    let t = performance.now();
    const raw = (
      await Promise.all(shards.map((s) => metrics.quarters(campaignId, s, fromQuarter, toQuarter)))
    ).flat();
    const rawReport = campaignReport(campaignId, query, raw);
    const rawMs = performance.now() - t;
    const rawReads = meter.take();

    t = performance.now();
    for (;;) {
      const run = await runCompaction(
        { metrics, rollups },
        new Date(YEAR_START + 366 * DAY_MS),
        Date.now() + 600_000,
      );
      if (run.days === 0) break;
    }
    const compactSeconds = (performance.now() - t) / 1000;
    meter.take();

    t = performance.now();
    const registry = await metrics.campaign(campaignId);
    if (!registry) throw new Error('campaign not registered');
    const rows = await rollups.dayReportRows(campaignId, registry, fromQuarter, toQuarter);
    const rolledReport = campaignReport(campaignId, query, rows);
    const rolledMs = performance.now() - t;
    const rolledReads = meter.take();
    return {
      shards: shardCount,
      quarterRows: raw.length,
      raw: { readUnits: round(rawReads.units, 1), items: rawReads.items, ms: Math.round(rawMs) },
      rollups: { readUnits: round(rolledReads.units, 1), items: rolledReads.items, ms: Math.round(rolledMs) },
      compactionSeconds: round(compactSeconds, 1),
      /** Every count equal; distinct persons exact from raw rows, from rollups exact or estimated. */
      countsEqual: JSON.stringify(countsOf(rawReport)) === JSON.stringify(countsOf(rolledReport)),
      uniqueUsers: {
        raw: rawReport.uniqueUsers,
        rollups: rolledReport.uniqueUsers,
        rollupsEstimated: rolledReport.uniqueUsersEstimated === true,
      },
      readUnitsRatio: round(rolledReads.units / rawReads.units, 4),
    };
  });

export const yearReport = async () => ({ runs: [await yearFor(4), await yearFor(16)] });

// ---- segment sizes --------------------------------------------------------------------------

const MEMBERS = 100_000;
const EXTRAPOLATED = 1_000_000;

export const segmentSize = async (members = MEMBERS) =>
  withEmulators(async (emulators) => {
    const db = documentClientOf(emulators);
    const meter = meteredClient(db);
    const table = emulators.names.tables.tags;
    const sizes = new SegmentSizes(db, table);
    const segments = new SegmentsRepository(db, table, sizes);
    const tag = 'big';
    // Memberships as the consumer leaves them (counted), and the counter shards they add up to.
    const items = Array.from({ length: members }, (_, i) => ({
      PutRequest: {
        Item: { pk: `segment#${tag}`, sk: `person-${i}`, sources: new Set(['rule:big']), counted: true },
      },
    }));
    const limit = pLimit(8);
    const chunks = Array.from({ length: Math.ceil(items.length / 500) }, (_, c) =>
      items.slice(c * 500, (c + 1) * 500),
    );
    await Promise.all(chunks.map((chunk) => limit(() => batchWriteAll(db, table, chunk))));
    const perShard = Math.floor(members / SIZE_SHARDS);
    await batchWriteAll(
      db,
      table,
      Array.from({ length: SIZE_SHARDS }, (_, k) => ({
        PutRequest: {
          Item: { ...sizeKey(tag, k), tag, n: k === 0 ? members - perShard * (SIZE_SHARDS - 1) : perShard },
        },
      })),
    );

    meter.take();
    let t = performance.now();
    const counted = await segments.countMembers(tag);
    const countMs = performance.now() - t;
    const counting = meter.take();

    t = performance.now();
    const fromCounter = (await sizes.sizes([tag])).get(tag);
    const counterMs = performance.now() - t;
    const counter = meter.take();
    const scale = EXTRAPOLATED / members;
    return {
      members,
      equal: counted === members && fromCounter === members,
      counting: { readUnits: round(counting.units, 1), queries: counting.calls, ms: Math.round(countMs) },
      countingAt1M: {
        extrapolated: true,
        readUnits: Math.round(counting.units * scale),
        queries: Math.round(counting.calls * scale),
        seconds: round((countMs * scale) / 1000, 1),
      },
      counter: { readUnits: round(counter.units, 1), items: counter.items, ms: round(counterMs, 1) },
      /** The counter's read does not depend on the members: the same at 1,000,000. */
      readUnitsRatioAt1M: round(counter.units / (counting.units * scale), 6),
    };
  });
