/**
 * The archive (docs/archive.md), three figures:
 *  - delay from an HTTP 202 to the event being queryable in the local stack's archive (the local
 *    Firehose with its default buffering hints, then DuckDB over the Parquet files);
 *  - Parquet bytes per event, as the archive writes them (against the event's envelope as JSON);
 *  - a funnel over 1,000,000 events in DuckDB, against a plain `count(*)` over the same files.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckArchive, parquetFiles } from '../functions/adapters/duckdb-archive';
import {
  analysisRequestSchema,
  analysisSql,
  type FunnelRequest,
  funnelResult,
} from '../functions/core/analytics';
import { ARCHIVE_COLUMNS, archiveRow } from '../functions/core/archive';
import { canonicalEvent } from '../functions/core/events';
import { archive } from '../lib/archive';
import { startE2E } from '../test/support/e2e';
import { validEvent } from '../test/support/events';
import { prng } from './workload';

const DAY = 86_400_000;
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;

/** 202 → a DuckDB query over the archive folder finds the event. */
const queryableDelay = async (events: number) => {
  // The functions' logs and EMF lines stay out of the report.
  const e2e = await startE2E({ env: { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' } });
  try {
    const token = await e2e.consent('bench-archive');
    const duck = await DuckArchive.open(e2e.stack.archive.dir);
    const acceptedAt = new Map<string, number>();
    const seenAfter = new Map<string, number>();
    const random = prng(11);
    for (let i = 0; i < events; i++) {
      const eventId = `arch-${i}`;
      const res = await e2e.call('/api/engagement/view', {
        method: 'POST',
        headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
        json: { ...validEvent('view', { eventId, userId: 'bench-archive' }), type: undefined },
      });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
      acceptedAt.set(eventId, performance.now());
      await new Promise((r) => setTimeout(r, 100 + random() * 400));
      await poll();
    }
    async function poll() {
      const rows = await duck.query(`SELECT DISTINCT event_id FROM ${duck.source()}`);
      const now = performance.now();
      for (const { event_id } of rows) {
        const id = String(event_id);
        const at = acceptedAt.get(id);
        if (at !== undefined && !seenAfter.has(id)) seenAfter.set(id, now - at);
      }
    }
    const deadline = performance.now() + 30_000;
    while (seenAfter.size < events && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await poll();
    }
    duck.close();
    const sorted = [...seenAfter.values()].sort((a, b) => a - b).map(Math.round);
    return {
      events,
      queryable: sorted.length,
      p50Ms: percentile(sorted, 0.5),
      p90Ms: percentile(sorted, 0.9),
      maxMs: sorted.at(-1),
      buffering: archive.buffering.local,
    };
  } finally {
    await e2e.close();
  }
};

/** Realistic rows through the archive's own writer: bytes of Parquet per event. */
const bytesPerEvent = async (dir: string, events: number) => {
  const duck = await DuckArchive.open(dir);
  const random = prng(5);
  const base = Date.parse('2026-03-02T00:00:00Z');
  const types = ['view', 'click', 'share', 'video-play', 'conversion', 'custom'] as const;
  const rows = Array.from({ length: events }, (_, i) => {
    const at = new Date(base + Math.floor(random() * DAY)).toISOString();
    const type = types[Math.floor(random() * types.length)] as (typeof types)[number];
    return archiveRow(
      canonicalEvent({
        eventId: `evt-${i.toString(36)}-${Math.floor(random() * 1e9).toString(36)}`,
        type,
        personKey: `user-${Math.floor(random() * 20_000)}`,
        userId: `user-${Math.floor(random() * 20_000)}`,
        campaignId: `campaign-${Math.floor(random() * 50)}`,
        deviceType: 'mobile',
        channel: 'ios',
        data: type === 'custom' ? { name: 'wishlist_add' } : { elementId: 'cta-button' },
        properties: { plan: random() < 0.5 ? 'free' : 'pro', screen: `s${Math.floor(random() * 30)}` },
        timestamp: at,
        receivedAt: at,
        eventTime: at,
        sourceId: 'src-bench',
        door: 'api',
      }),
    );
  });
  // As Firehose delivers: one file per partition per buffer (here, 10 buffers).
  const slice = Math.ceil(events / 10);
  for (let i = 0; i < events; i += slice) await duck.writePartitioned(rows.slice(i, i + slice));
  duck.close();
  const bytes = parquetFiles(join(dir, 'events')).reduce((n, f) => n + statSync(f).size, 0);
  const jsonBytes = rows.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0);
  return {
    events,
    parquetBytesPerEvent: +(bytes / events).toFixed(1),
    jsonBytesPerEvent: +(jsonBytes / events).toFixed(1),
    ratioToJson: +(bytes / jsonBytes).toFixed(3),
  };
};

/** 1,000,000 events written by DuckDB itself in the archive's layout (dt/hour folders), 50,000 people. */
const millionEvents = async (dir: string, events: number) => {
  mkdirSync(join(dir, 'events'), { recursive: true });
  const duck = await DuckArchive.open(dir);
  const base = Date.parse('2026-03-02T00:00:00Z');
  const columns = ARCHIVE_COLUMNS.map((c) => c.name);
  const expr: Record<string, string> = {
    event_id: `'e' || i`,
    type: `CASE WHEN i % 100 < 50 THEN 'view' WHEN i % 100 < 80 THEN 'click' WHEN i % 100 < 85 THEN 'conversion' ELSE 'share' END`,
    person_key: `'u' || (hash(i) % 50000)`,
    user_id: `'u' || (hash(i) % 50000)`,
    anonymous_id: 'CAST(NULL AS VARCHAR)',
    campaign_id: `'c' || (i % 20)`,
    experiment_id: 'CAST(NULL AS VARCHAR)',
    variant: 'CAST(NULL AS VARCHAR)',
    channel: `CASE WHEN i % 3 = 0 THEN 'web' ELSE 'ios' END`,
    device_type: `'mobile'`,
    event_name: 'CAST(NULL AS VARCHAR)',
    event_time: `strftime(make_timestamp(ms * 1000), '%Y-%m-%dT%H:%M:%S.000Z')`,
    event_ms: 'ms',
    received_at: `strftime(make_timestamp(ms * 1000), '%Y-%m-%dT%H:%M:%S.000Z')`,
    received_ms: 'ms',
    device_time: `strftime(make_timestamp(ms * 1000), '%Y-%m-%dT%H:%M:%S.000Z')`,
    sent_at: 'CAST(NULL AS VARCHAR)',
    source_id: `'src'`,
    door: `'api'`,
    data: `'{}'`,
    properties: `'{"plan":"pro"}'`,
  };
  await duck.query(
    `COPY (SELECT ${columns.map((c) => `${expr[c]} AS ${c}`).join(', ')},
       strftime(make_timestamp(ms * 1000), '%Y-%m-%d') AS dt, strftime(make_timestamp(ms * 1000), '%H') AS hour
     FROM (SELECT i, CAST(${base} + (hash(i * 7) % ${7 * DAY}) AS BIGINT) AS ms FROM range(${events}) t(i)))
     TO '${join(dir, 'events')}' (FORMAT parquet, PARTITION_BY (dt, hour), COMPRESSION zstd)`,
  );
  const request = analysisRequestSchema.parse({
    analysis: 'funnel',
    from: '2026-03-02',
    to: '2026-03-08',
    steps: [{ type: 'view' }, { type: 'click' }, { type: 'conversion' }],
    windowSeconds: 86_400,
    breakdown: 'channel',
  }) as FunnelRequest;
  const time = async (sql: string, runs = 3) => {
    const ms: number[] = [];
    let rows: Awaited<ReturnType<typeof duck.query>> = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      rows = await duck.query(sql);
      ms.push(performance.now() - t);
    }
    return { ms: Math.round(Math.min(...ms)), rows };
  };
  const count = await time(`SELECT count(*) AS n FROM ${duck.source()}`);
  const funnel = await time(analysisSql(duck.source(), request));
  duck.close();
  return {
    events: Number(count.rows[0]?.n),
    countMs: count.ms,
    funnelMs: funnel.ms,
    ratioToCount: +(funnel.ms / Math.max(1, count.ms)).toFixed(1),
    funnel: funnelResult(request, funnel.rows).steps.map((s) => s.people),
  };
};

export const archiveBench = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-bench-archive-'));
  try {
    return {
      at: new Date().toISOString(),
      queryable: await queryableDelay(30),
      size: await bytesPerEvent(join(dir, 'size'), 100_000),
      funnel: await millionEvents(join(dir, 'million'), 1_000_000),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export type ArchiveBench = Awaited<ReturnType<typeof archiveBench>>;
