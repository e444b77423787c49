/**
 * `npm run bench`: a report, not a test. Each figure is quoted against a baseline measured in
 * the same run on the same machine, and written to bench/results.json.
 *
 *  1. Ingest hot path per event (500-event batch, in process, full validation and envelope)
 *     against the floor any ingest pays: JSON.parse of the body + JSON.stringify of each event.
 *  2. Minified bundle size and module init time of each function against a bundle built the
 *     same way holding only the Kinesis client.
 *  3. Whether dynalite reports write units the DynamoDB way (probe writes of known sizes).
 *  4. Write amplification: DynamoDB write units per event of applyBatch on the reference
 *     workload, counts checked exact against the ground truth (bench/aggregate.ts).
 *  5. Freshness: HTTP 202 to the event counted by the metrics endpoint, local stack (bench/freshness.ts).
 *  6. Aggregation throughput: events/s through applyBatch against dynalite's raw UpdateItem rate.
 *  7. Scale: rate-limit accuracy and writes per request under concurrency, and rule-backfill
 *     persons/s over 100,000 people, each against a baseline (bench/scale.ts).
 *  8. Cost inputs: every per-request and per-event quantity `npm run cost` reads (bench/cost/measure.ts).
 *  9. Models: training time and memory per 100,000 people, scoring throughput, a weekly run's cost (bench/models.ts).
 *
 * `npm run bench -- --only NAME[,NAME]` runs some sections only and updates their keys in
 * results.json, keeping the others. Names: hot-path, bundles, capacity, write-amplification,
 * freshness, throughput, scale, cost, models, edge-hot-path, imports.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { issueConsentToken } from '../functions/core/consent';
import { EVENT_TYPES } from '../functions/core/events';
import { distinctById, ingestBatch } from '../functions/core/ingest';
import { decodeBody } from '../functions/http/body';
import { bundling } from '../lib/bundling';
import { fallbackRoute, handlerModules } from '../lib/routes';
import { schedules } from '../lib/schedules';
import { eventStream, streamConsumers } from '../lib/stream';
import { tableList } from '../lib/tables';
import { validEvent } from '../test/support/events';
import { capacityCheck, throughput, writeAmplification } from './aggregate';
import { type ArchiveBench, archiveBench } from './archive';
import { type measureCost, measureCostIsolated } from './cost/measure';
import { destinationsBench } from './destinations';
import { destinationsOrderBench } from './destinations-order';
import { edgeHotPath } from './edge';
import { freshness } from './freshness';
import { importsBench } from './imports';
import { modelsBench } from './models';
import { type Scale, scale } from './scale';

const root = resolve(import.meta.dirname, '..');
const results: Record<string, unknown> = {
  machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
  at: new Date().toISOString(),
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// ---- 1. ingest hot path -------------------------------------------------------------------
const hotPath = () => {
  // Consent and data minimisation on, as deployed: each event carries its user's consent token.
  const key = Buffer.from('bench-signing-key-bench-signing-key');
  const tokens = Array.from(
    { length: 120 },
    (_, u) => issueConsentToken(key, `user-${u}`, ['analytics'], new Date(), 30).token,
  );
  const events = Array.from({ length: 500 }, (_, i) =>
    validEvent(EVENT_TYPES[i % EVENT_TYPES.length], {
      userId: `user-${i % 120}`,
      consentToken: tokens[i % 120],
      eventId: `evt-${i}-${Math.random().toString(36).slice(2, 10)}`,
      properties: { screen: 'home', position: i % 7, ab: i % 2 === 0 ? 'a' : 'b', tags: ['x', 'y'] },
    }),
  );
  const body = JSON.stringify({ events });
  const headers = { 'content-type': 'application/json' };
  const ctx = { sourceId: 'src_bench', sourceChannel: 'ios' as const, horizonDays: 30, door: 'api' as const };

  const floor = () => {
    const parsed = JSON.parse(body) as { events: unknown[] };
    let n = 0;
    for (const e of parsed.events) n += JSON.stringify(e).length;
    return n;
  };
  // As in the ingest function: verified tokens are remembered per container.
  const verified = new Map();
  /** The whole hot path; `privacy` adds the consent check and data minimisation (as deployed). */
  const ingestWith = (privacy: boolean) => () => {
    const now = new Date();
    const { value, bytes } = decodeBody(body, false, headers, { maxBytes: 1024 * 1024 });
    if (bytes === 0) throw new Error('empty body');
    const outcome = ingestBatch((value as { events: unknown[] }).events, {
      ...ctx,
      receivedAt: now,
      receivedAtIso: now.toISOString(),
      ...(privacy && { consent: { key, verified }, pii: { mode: 'reject' as const, key } }),
    });
    if (outcome.rejected.length > 0) throw new Error(JSON.stringify(outcome.rejected[0]));
    let n = 0;
    for (const e of distinctById(outcome.accepted))
      n += Buffer.from(e.json).byteLength + e.event.personKey.length;
    return n;
  };
  const time = (fn: () => number, iterations: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    return Number(process.hrtime.bigint() - t) / iterations / 500;
  };
  const ingest = ingestWith(true);
  const validationOnly = ingestWith(false);
  // Warm up the JIT before timing.
  for (let i = 0; i < 50; i++) {
    floor();
    ingest();
    validationOnly();
  }
  // Interleave rounds so machine noise hits all alike; report medians.
  const f: number[] = [];
  const g: number[] = [];
  const v: number[] = [];
  for (let round = 0; round < 15; round++) {
    f.push(time(floor, 20));
    g.push(time(ingest, 20));
    v.push(time(validationOnly, 20));
  }
  const floorNs = median(f);
  const ingestNs = median(g);
  const validationNs = median(v);
  return {
    bodyBytes: body.length,
    floorNsPerEvent: Math.round(floorNs),
    ingestNsPerEvent: Math.round(ingestNs),
    ratio: +(ingestNs / floorNs).toFixed(2),
    /** Validation, envelope and serialisation alone, without consent and data minimisation. */
    withoutPrivacyNsPerEvent: Math.round(validationNs),
    withoutPrivacyRatio: +(validationNs / floorNs).toFixed(2),
    target: 2,
  };
};

// ---- 2. bundles ---------------------------------------------------------------------------
const bundles = async () => {
  const out = mkdtempSync(join(tmpdir(), 'pulse-bench-'));
  const baselineEntry = join(root, 'bench', 'baseline', 'kinesis-only.ts');
  const modules = [
    ...handlerModules().keys(),
    fallbackRoute.handler,
    ...streamConsumers.map((c) => c.handler),
    // Scheduled functions ship like the others (lib/schedules.ts).
    ...schedules.map((s) => s.handler),
  ];
  const entries: [string, string][] = [
    ['baseline:kinesis-only', baselineEntry],
    ...modules.map((m): [string, string] => [m, join(root, 'functions', `${m}.ts`)]),
  ];
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [eventStream.envVar]: 'bench',
    ...Object.fromEntries(tableList.map((t) => [t.envVar, `bench-${t.name}`])),
  };
  const sizes: Record<string, { bytes: number; initMs: number }> = {};
  for (const [name, entry] of entries) {
    const outfile = join(out, `${name.replace(/[/:]/g, '_')}.mjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: bundling.format,
      platform: bundling.platform,
      target: bundling.target,
      minify: bundling.minify,
      mainFields: [...bundling.mainFields],
      banner: { js: bundling.banner },
      absWorkingDir: root,
      logLevel: 'error',
    });
    // Init: a fresh process imports the bundle; median of several cold starts.
    const runs = Array.from({ length: 7 }, () =>
      Number(
        execFileSync(
          process.execPath,
          [
            '-e',
            `const t=process.hrtime.bigint();import(${JSON.stringify(outfile)}).then(()=>process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6)))`,
          ],
          { env, encoding: 'utf8' },
        ),
      ),
    );
    sizes[name] = { bytes: statSync(outfile).size, initMs: +median(runs).toFixed(1) };
  }
  const base = sizes['baseline:kinesis-only'] as { bytes: number; initMs: number };
  return Object.fromEntries(
    Object.entries(sizes).map(([k, v]) => [
      k,
      {
        ...v,
        sizeRatio: +(v.bytes / base.bytes).toFixed(2),
        initRatio: +(v.initMs / base.initMs).toFixed(2),
      },
    ]),
  );
};

// ---- the report ----------------------------------------------------------------------------

type WriteAmplification = Awaited<ReturnType<typeof writeAmplification>>;
type Freshness = Awaited<ReturnType<typeof freshness>>;
type Throughput = Awaited<ReturnType<typeof throughput>>;
type Capacity = Awaited<ReturnType<typeof capacityCheck>>;
const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');

const sections: { name: string; key: string; run: () => Promise<unknown>; print: (r: never) => void }[] = [
  {
    name: 'hot-path',
    key: 'ingestHotPath',
    run: async () => hotPath(),
    print: (r: unknown) => console.log('ingest hot path', r),
  },
  {
    name: 'bundles',
    key: 'bundles',
    run: bundles,
    print: (r: Record<string, unknown>) => console.table(r),
  },
  {
    name: 'capacity',
    key: 'dynaliteCapacity',
    run: capacityCheck,
    print: (r: Capacity) => {
      console.table(r.cases);
      console.log(
        `dynalite ConsumedCapacity faithful: ${r.faithful} (by the guide's byte rules ${r.exactRulesAgree} agree, ` +
          `numbers ${r.numbersAgree}); failed conditional writes: ${r.failedConditionalWrites}`,
      );
    },
  },
  {
    name: 'write-amplification',
    key: 'writeAmplification',
    run: writeAmplification,
    print: (r: WriteAmplification) => {
      console.table(
        r.scenarios.map((s) => ({
          scenario: s.scenario,
          events: s.events,
          batches: s.batches,
          'persons/batch': s.meanPersonsPerBatch,
          WU: s.writeUnits,
          'WU/event': s.wuPerEvent,
          'person WU/ev': s.split.personPerEvent,
          'counter WU/ev': s.split.counterPerEvent,
          'other WU/ev': s.split.otherPerEvent,
          exact: s.exact && s.quartersAddUp && s.uniquesExact,
          'applyBatch says': s.writeUnitsReportedByApplyBatch,
        })),
      );
      console.table(r.batchFill);
      const audit = r.scenarios[0]?.audit;
      console.log(
        `write amplification: ${r.wuPerEvent} WU/event on 2 shards, ${r.wuPerEventOneShard} on 1 shard ` +
          `(target <= ${r.target.wuPerEvent}), exact: ${r.exact} -> ${verdict(r.meetsTarget)}; ` +
          `worst case (every event a different person): ${r.worstCaseWuPerEvent} WU/event`,
      );
      if (audit)
        console.log(
          `  audited write by write from item sizes: ${audit.writeUnitsFromItemSizes} WU, dynalite ${audit.writeUnitsDynalite} WU ` +
            `(${audit.writesWhereDynaliteAgrees} writes agree)`,
        );
      if (!r.applyBatchWriteUnitsAccurate)
        console.log(
          '  note: BatchOutcome.writeUnits differs from the sum of the writes (column "applyBatch says")',
        );
    },
  },
  {
    name: 'freshness',
    key: 'freshness',
    run: freshness,
    print: (r: Freshness) =>
      console.log(
        `freshness (202 -> counted by the metrics endpoint, local stack): p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, ` +
          `p99 ${r.p99Ms ?? 'n/a'} ms, max ${r.maxMs} ms over ${r.counted}/${r.events} events ` +
          `(target p99 <= ${r.target.p99Ms} ms) -> ${verdict(r.meetsTarget)}; ` +
          `batching window ${r.context.batchingWindowMs} ms, poll every ${r.context.pollIntervalMs} ms`,
      ),
  },
  {
    name: 'throughput',
    key: 'aggregationThroughput',
    run: throughput,
    print: (r: Throughput) =>
      console.log(
        `aggregation throughput: ${r.eventsPerSecond} events/s through applyBatch vs ${r.rawUpdateItemsPerSecond} ` +
          `raw UpdateItems/s on dynalite (concurrency ${r.concurrency}) -> ratio ${r.ratio} ` +
          `(applyBatch itself: ${r.applyBatchWritesPerSecond} writes/s)`,
      ),
  },
  {
    name: 'cost',
    key: 'cost',
    run: async () => ({ at: new Date().toISOString(), ...(await measureCostIsolated()) }),
    print: (r: Awaited<ReturnType<typeof measureCost>>) => {
      const { consumerBatches, ...perRequest } = r.inputs;
      console.log('cost inputs (npm run cost reads these)', perRequest);
      console.table(consumerBatches);
    },
  },
];

sections.push({
  name: 'scale',
  key: 'scale',
  run: scale,
  print: ({ rateLimits, backfill, yearReport, segmentSize }: Scale) => {
    console.table(
      rateLimits.runs.map((r) => ({
        limiter: r.limiter,
        'offered ev/s': r.offeredPerSecond,
        'accepted ev/s (mean)': r.acceptedMean,
        'worst second vs limit %': r.worstDeviationPct,
        requests: r.requests,
        refused: r.refused,
        'req/container/s': r.requestsPerContainerSecond,
        writes: r.writes,
        'writes/request': r.writesPerRequest,
        'writes/container/s': r.writesPerContainerSecond,
        'hottest item writes/s': r.hottestItemWritesPerSecond,
      })),
    );
    console.log(
      `rate limits (${rateLimits.load.containers} containers, limit ${rateLimits.load.limit}/s): ` +
        `writes per request ${rateLimits.writesPerRequestRatio}x the one-write-per-request limiter's; ` +
        `within ±${rateLimits.target.deviationPct} % every second -> ${verdict(rateLimits.meetsTarget)}; ` +
        `a ${rateLimits.shardsAtMaxLimit.limit}/s source spreads over ${rateLimits.shardsAtMaxLimit.shards} counter items`,
    );
    const p = backfill.parallelBackfill;
    console.log(
      `backfill over ${backfill.people} people: ${p.personsPerSecond} persons/s in ${p.segments} segments ` +
        `(${p.seconds} s, done ${p.done}, members exact ${p.membersExact}) vs ${backfill.serialBackfill.personsPerSecond} ` +
        `persons/s one segment at a time (${backfill.speedupOverSerial}x; the old schedule allowed ` +
        `${backfill.serialBackfillScheduleBoundPersonsPerSecond}/s) and ${backfill.plainScanPersonsPerSecond} persons/s ` +
        `for a plain Scan of the keys (${backfill.ratioToPlainScan}x)`,
    );
    // Day rollups and segment size counters (bench/scale-reads.ts).
    for (const y of yearReport.runs)
      console.log(
        `365-day report, ${y.shards} shards: rollups ${y.rollups.readUnits} RU / ${y.rollups.items} items / ` +
          `${y.rollups.ms} ms vs raw rows ${y.raw.readUnits} RU / ${y.raw.items} items / ${y.raw.ms} ms ` +
          `(${y.readUnitsRatio}x the units; counts equal ${y.countsEqual}; uniques ${y.uniqueUsers.raw} raw, ` +
          `${y.uniqueUsers.rollups}${y.uniqueUsers.rollupsEstimated ? ' estimated' : ''} from rollups; ` +
          `compaction of the year ${y.compactionSeconds} s)`,
      );
    console.log(
      `segment size, ${segmentSize.members} members: counter ${segmentSize.counter.readUnits} RU ` +
        `(${segmentSize.counter.ms} ms) vs counting ${segmentSize.counting.readUnits} RU ` +
        `(${segmentSize.counting.ms} ms); at 1,000,000 (counting extrapolated) ` +
        `${segmentSize.countingAt1M.readUnits} RU, ${segmentSize.countingAt1M.seconds} s ` +
        `(counter/counting ${segmentSize.readUnitsRatioAt1M}x; exact ${segmentSize.equal})`,
    );
  },
});

// predictions (docs/models.md): training time and memory per 100,000 people, scoring throughput, weekly cost
sections.push({
  name: 'models',
  key: 'models',
  run: modelsBench,
  print: (r: Awaited<ReturnType<typeof modelsBench>>) => {
    const { _sink, ...shown } = r;
    console.log('models', JSON.stringify(shown, null, 2));
  },
});

// Clean data at the edge: the hot path with user agents, bots, UTM attribution and plans on.
sections.push({
  name: 'edge-hot-path',
  key: 'edgeHotPath',
  run: async () => edgeHotPath(),
  print: (r: ReturnType<typeof edgeHotPath>) =>
    console.log(
      `edge hot path: ${r.withEdgeNsPerEvent} ns/event with the edge vs ${r.ingestNsPerEvent} without ` +
        `(+${r.addedNsPerEvent} ns/event); ${r.withEdgeRatio}x the floor (${r.floorNsPerEvent} ns), target ${r.target}x`,
    ),
});

// Archive (docs/archive.md): 202 → queryable locally, Parquet bytes per event, a 1M-event funnel.
sections.push({
  name: 'archive',
  key: 'archive',
  run: archiveBench,
  print: (r: ArchiveBench) => {
    const q = r.queryable;
    console.log(
      `archive: 202 -> queryable (local Firehose ${q.buffering.intervalMs} ms / ${q.buffering.sizeBytes} B, then DuckDB): ` +
        `p50 ${q.p50Ms} ms, p90 ${q.p90Ms} ms, max ${q.maxMs} ms over ${q.queryable}/${q.events} events; ` +
        `Parquet ${r.size.parquetBytesPerEvent} B/event (${r.size.ratioToJson}x its JSON row, ${r.size.jsonBytesPerEvent} B); ` +
        `funnel over ${r.funnel.events} events ${r.funnel.funnelMs} ms vs count(*) ${r.funnel.countMs} ms ` +
        `(${r.funnel.ratioToCount}x the floor), people per step ${r.funnel.funnel.join(' / ')}`,
    );
  },
});

// Destinations (docs/destinations.md): delivered events/s against a no-op receiver's floor; 202 to delivery.
sections.push({
  name: 'destinations',
  key: 'destinations',
  run: () => destinationsBench(),
  print: (r: Awaited<ReturnType<typeof destinationsBench>>) => {
    console.log(
      `destinations: ${r.delivered}/${r.events} delivered in ${r.webhookRequests} webhook requests, ` +
        `${r.deliveredPerSecond} events/s vs ${r.floorPerSecond} events/s straight to the receiver ` +
        `(${r.ratioToFloor}x the floor); 202 to delivery p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
    );
  },
});

// Bulk imports (docs/traits.md): a large CSV streamed vs. read whole, rows/s and peak RSS.
sections.push({
  name: 'imports',
  key: 'imports',
  run: importsBench,
  print: (r: Awaited<ReturnType<typeof importsBench>>) =>
    console.log(
      `imports, ${r.rows} rows (${r.fileMb} MB): streamed ${r.streamed.rowsPerSecond} rows/s, peak RSS ` +
        `${r.streamed.peakRssMb} MB vs whole-file read ${r.wholeFile.rowsPerSecond} rows/s, ${r.wholeFile.peakRssMb} MB ` +
        `(${r.rowsPerSecondRatio}x the rate, ${r.peakRssRatio}x the memory; idle process ${r.idlePeakRssMb} MB; ` +
        `same rows ${r.sameRows})`,
    ),
});

// Destinations' per-person order (docs/destinations.md "Order"): the consumer's batch time, ordered vs not.
sections.push({
  name: 'destinations-order',
  key: 'destinationsOrder',
  run: () => destinationsOrderBench(),
  print: (r: Awaited<ReturnType<typeof destinationsOrderBench>>) => {
    console.log(
      `destinations-order: ${r.batches} consumer batches of ${r.batchSize} events (${r.peoplePerBatch} people each), ` +
        `${r.delivered} delivered, ${r.outboxItemsWritten} outbox items written; ordered (HubSpot properties) ` +
        `${r.orderedMsPerBatch} ms per batch vs ${r.unorderedMsPerBatch} ms not ordered (HubSpot events): ${r.ratio}x`,
    );
  },
});

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg === -1 ? undefined : (process.argv[onlyArg + 1] ?? '').split(',').filter(Boolean);
const unknown = only?.filter((n) => !sections.some((s) => s.name === n || s.key === n)) ?? [];
if (only && (only.length === 0 || unknown.length > 0)) {
  console.error(`--only takes one or more of: ${sections.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const resultsFile = join(root, 'bench', 'results.json');
// With --only, keep the other sections' last figures.
if (only && existsSync(resultsFile))
  Object.assign(results, { ...JSON.parse(readFileSync(resultsFile, 'utf8')), ...results });
const timings: Record<string, number> = {};
for (const section of sections) {
  if (only && !only.includes(section.name) && !only.includes(section.key)) continue;
  const started = performance.now();
  try {
    const result = await section.run();
    results[section.key] = result;
    section.print(result as never);
  } catch (error) {
    // One broken section (say, a handler module another change has not written yet) should
    // not cost the others their figures: report it, keep going, exit non-zero.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`bench section ${section.name} failed: ${message}`);
    results[section.key] = { error: message };
    process.exitCode = 1;
  }
  timings[section.name] = +((performance.now() - started) / 1000).toFixed(1);
}
results.targets = {
  ingestHotPathRatio: 2,
  ingestBundleSizeRatio: 1.3,
  ingestInitRatio: 1.2,
  writeAmplificationWuPerEvent: 1.0,
  freshnessP99Ms: 2000,
  aggregationThroughputRatio: null,
};
results.sectionSeconds = { ...(results.sectionSeconds as Record<string, number> | undefined), ...timings };
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(
  `written bench/results.json (${Object.entries(timings)
    .map(([k, v]) => `${k} ${v} s`)
    .join(', ')})`,
);
