/**
 * `npm run bench`: a report, not a test. Each figure is quoted against a baseline measured in
 * the same run on the same machine, and written to bench/results.json.
 *
 *  1. Ingest hot path per event (500-event batch, in process, full validation and envelope)
 *     against the floor any ingest pays: JSON.parse of the body + JSON.stringify of each event.
 *  2. Minified bundle size and module init time of each function against a bundle built the
 *     same way holding only the Kinesis client.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { EVENT_TYPES } from '../functions/core/events';
import { distinctById, ingestBatch } from '../functions/core/ingest';
import { decodeBody } from '../functions/http/body';
import { bundling } from '../lib/bundling';
import { fallbackRoute, handlerModules } from '../lib/routes';
import { eventStream, streamConsumers } from '../lib/stream';
import { tableList } from '../lib/tables';
import { validEvent } from '../test/support/events';

const root = resolve(import.meta.dirname, '..');
const results: Record<string, unknown> = {
  machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
  at: new Date().toISOString(),
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// ---- 1. ingest hot path -------------------------------------------------------------------
const hotPath = () => {
  const events = Array.from({ length: 500 }, (_, i) =>
    validEvent(EVENT_TYPES[i % EVENT_TYPES.length], {
      userId: `user-${i % 120}`,
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
  const ingest = () => {
    const now = new Date();
    const { value, bytes } = decodeBody(body, false, headers, { maxBytes: 1024 * 1024 });
    if (bytes === 0) throw new Error('empty body');
    const outcome = ingestBatch((value as { events: unknown[] }).events, {
      ...ctx,
      receivedAt: now,
      receivedAtIso: now.toISOString(),
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
  // Warm up the JIT before timing.
  for (let i = 0; i < 50; i++) {
    floor();
    ingest();
  }
  // Interleave rounds so machine noise hits both alike; report medians.
  const f: number[] = [];
  const g: number[] = [];
  for (let round = 0; round < 15; round++) {
    f.push(time(floor, 20));
    g.push(time(ingest, 20));
  }
  const floorNs = median(f);
  const ingestNs = median(g);
  return {
    bodyBytes: body.length,
    floorNsPerEvent: Math.round(floorNs),
    ingestNsPerEvent: Math.round(ingestNs),
    ratio: +(ingestNs / floorNs).toFixed(2),
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

results.ingestHotPath = hotPath();
console.log('ingest hot path', results.ingestHotPath);
results.bundles = await bundles();
console.table(results.bundles);
results.targets = { ingestHotPathRatio: 2, ingestBundleSizeRatio: 1.3, ingestInitRatio: 1.2 };
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log('written bench/results.json');
