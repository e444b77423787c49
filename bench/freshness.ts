/**
 * Freshness in the local stack: the time from an HTTP 202 for one event to the metrics endpoint
 * counting it (ingest Lambda -> Kinesis -> event source mapping -> aggregate Lambda -> DynamoDB ->
 * metrics Lambda), on loopback.
 *
 * Events go one by one to POST /api/engagement/{type}, in small groups a few times a second. To
 * tell each event's arrival apart with a single query, every event falls in an hour of its own
 * (event i stamped i+1 hours ago, all in one campaign): one poller asks for the campaign's hourly
 * series every pollIntervalMs, and an event has arrived when its hour counts it. Its latency is
 * taken when the answer that first shows it comes back (an upper bound; the poll interval plus
 * one query is the resolution).
 */
import { EVENT_TYPES } from '../functions/core/events';
import { aggregateConsumer } from '../lib/stream';
import { startE2E } from '../test/support/e2e';
import { validEvent } from '../test/support/events';
import { prng } from './workload';

const HOUR = 3600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile. */
const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);

export interface FreshnessOptions {
  events?: number;
  pollIntervalMs?: number;
  /** An event not counted this long after its 202 is reported missing. */
  giveUpMs?: number;
}

export const freshness = async (options: FreshnessOptions = {}) => {
  const count = options.events ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const giveUpMs = options.giveUpMs ?? 15_000;
  const random = prng(7);
  // Keep the functions' INFO logs (one per batch) out of the report, and Powertools Metrics'
  // "No application metrics to publish" warning, which it writes to stderr on every invocation of
  // a handler that published none.
  const stderrWrite = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    String(chunk).includes('No application metrics to publish')
      ? true
      : (stderrWrite as (...a: unknown[]) => boolean).call(
          process.stderr,
          chunk,
          ...rest,
        )) as typeof stderrWrite;
  const e2e = await startE2E({ env: { POWERTOOLS_LOG_LEVEL: 'WARN' } }).catch((error) => {
    process.stderr.write = stderrWrite;
    throw error;
  });
  try {
    const campaignId = `fresh-${Date.now().toString(36)}`;
    const top = Math.floor(Date.now() / HOUR) * HOUR; // start of the current hour
    const hourOf = (i: number) => top - (i + 1) * HOUR;
    const hourIndex = new Map<string, number>();
    for (let i = 0; i < count; i++) hourIndex.set(new Date(hourOf(i)).toISOString().replace('.000Z', 'Z'), i);
    const query = `/api/metrics/campaigns/${campaignId}?granularity=hour&from=${new Date(
      hourOf(count - 1),
    ).toISOString()}&to=${new Date(top).toISOString()}`;
    const auth = { authorization: `Bearer ${e2e.analyst}` };
    // Consent is required by default: each user grants analytics first (not timed).
    const users = Array.from({ length: 20 }, (_, i) => `fresh-user-${i}`);
    const tokens = new Map(await Promise.all(users.map(async (u) => [u, await e2e.consent(u)] as const)));

    const acceptedAt: (number | undefined)[] = new Array(count).fill(undefined);
    const latency: (number | undefined)[] = new Array(count).fill(undefined);
    const ingestMs: number[] = [];
    const queryMs: number[] = [];
    let sending = true;
    let lastAccepted = 0;

    const send = async (i: number) => {
      const type = EVENT_TYPES[i % EVENT_TYPES.length] as (typeof EVENT_TYPES)[number];
      const event = validEvent(type, {
        eventId: `${campaignId}-${i}`,
        userId: users[i % users.length],
        campaignId,
        timestamp: new Date(hourOf(i) + 30 * 60_000).toISOString(),
      });
      const { type: _, ...body } = event;
      const t = performance.now();
      const res = await e2e.call(`/api/engagement/${type}`, {
        method: 'POST',
        headers: {
          'x-api-key': e2e.writeKey,
          'x-consent-token': tokens.get(event.userId as string) as string,
        },
        json: body,
      });
      const now = performance.now();
      const answer = await res.text();
      if (res.status !== 202) throw new Error(`event ${i}: ${res.status} ${answer}`);
      ingestMs.push(now - t);
      acceptedAt[i] = now;
      lastAccepted = Math.max(lastAccepted, now);
    };

    const sender = (async () => {
      try {
        for (let i = 0; i < count; ) {
          const group = 1 + Math.floor(random() * 3); // 1-3 events at once
          const ids = Array.from({ length: Math.min(group, count - i) }, (_, k) => i + k);
          i += ids.length;
          await Promise.all(ids.map(send));
          await sleep(150 + Math.floor(random() * 300));
        }
      } finally {
        sending = false;
      }
    })();

    const poller = (async () => {
      for (;;) {
        const pending = acceptedAt.some((t, i) => t !== undefined && latency[i] === undefined);
        if (!sending && !pending) return;
        if (!sending && performance.now() - lastAccepted > giveUpMs) return;
        const t = performance.now();
        const res = await e2e.call(query, { headers: auth });
        const now = performance.now();
        if (res.status === 200) {
          queryMs.push(now - t);
          const body = (await res.json()) as { series: { start: string; counts: Record<string, number> }[] };
          for (const bucket of body.series) {
            const i = hourIndex.get(bucket.start);
            if (i === undefined || latency[i] !== undefined) continue;
            const seen = Object.values(bucket.counts).reduce((a, b) => a + b, 0) > 0;
            const at = acceptedAt[i];
            // Only an answer asked for after the 202 can be credited with the event.
            if (seen && at !== undefined && t >= at) latency[i] = now - at;
          }
        } else if (res.status !== 404) {
          throw new Error(`metrics query: ${res.status} ${await res.text()}`);
        } else {
          await res.arrayBuffer(); // 404 until the campaign's first counter lands
        }
        await sleep(pollIntervalMs);
      }
    })();

    await Promise.all([sender, poller]);
    const seen = latency.filter((l): l is number => l !== undefined && l <= giveUpMs).sort((a, b) => a - b);
    const median = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        0.5,
      );
    const ms = (n: number) => Math.round(n);
    const p99 = seen.length === count ? percentile(seen, 0.99) : Number.POSITIVE_INFINITY;
    return {
      events: count,
      counted: seen.length,
      missing: count - seen.length,
      p50Ms: ms(percentile(seen, 0.5)),
      p90Ms: ms(percentile(seen, 0.9)),
      p99Ms: Number.isFinite(p99) ? ms(p99) : null,
      maxMs: ms(seen[seen.length - 1] ?? Number.NaN),
      minMs: ms(seen[0] ?? Number.NaN),
      target: { p99Ms: 2000 },
      meetsTarget: Number.isFinite(p99) && p99 <= 2000,
      context: {
        batchingWindowMs: aggregateConsumer.maxBatchingWindowSeconds * 1000,
        pollIntervalMs,
        ingestRoundTripMedianMs: +median(ingestMs).toFixed(1),
        metricsQueryMedianMs: +median(queryMs).toFixed(1),
        metricsQueries: queryMs.length,
      },
    };
  } finally {
    await e2e.close();
    process.stderr.write = stderrWrite;
  }
};
