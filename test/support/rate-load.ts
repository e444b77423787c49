/**
 * Simulated ingest containers sharing one source's rate limit (integration tests and the bench):
 * each container is its own limiter, serving one request at a time as a Lambda container does,
 * with clients arriving every `gapMs`. Accepted events are counted by the second they were
 * accepted in, and every DynamoDB call the limiters make is counted.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { prng } from '../../bench/workload';

export interface Limiter {
  take(sourceId: string, limit: number, count: number): Promise<{ ok: boolean }>;
}

/**
 * The same client, counting the calls made through it, and per item (its key) how many: the
 * limiters' items are per second, so that is writes per second on the hottest item.
 */
export const countingClient = (db: DynamoDBDocumentClient) => {
  let calls = 0;
  const perItem = new Map<string, number>();
  const client = Object.create(db) as DynamoDBDocumentClient;
  client.send = ((command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
    calls++;
    const key = JSON.stringify((command.input as { Key?: unknown }).Key ?? null);
    perItem.set(key, (perItem.get(key) ?? 0) + 1);
    return db.send(command);
  }) as DynamoDBDocumentClient['send'];
  return { client, calls: () => calls, hottestItem: () => Math.max(0, ...perItem.values()) };
};

export interface LoadOptions {
  /** One limiter per simulated container. */
  containers: readonly Limiter[];
  sourceId: string;
  limit: number;
  durationMs: number;
  /** Pause between two requests of a container. */
  gapMs: number;
  /** Events per request: uniform in 1..maxEvents. */
  maxEvents: number;
  seed: number;
}

export interface LoadResult {
  requests: number;
  /** Events asked for, per second of the run. */
  offeredPerSecond: number;
  acceptedEvents: number;
  refusedRequests: number;
  /** Events accepted in each whole second of the run (by the time `take` resolved). */
  perSecond: number[];
  /** Events asked for in each whole second of the run (by the time the request was made). */
  askedPerSecond: number[];
}

export const runLoad = async (o: LoadOptions): Promise<LoadResult> => {
  // Start on a second's boundary, and count from it (not from when the timer fired, perhaps late
  // on a busy machine), so the seconds counted are the limiter's windows.
  const start = (Math.floor(Date.now() / 1000) + 1) * 1000;
  while (Date.now() < start) await new Promise((r) => setTimeout(r, start - Date.now()));
  const end = start + o.durationMs;
  const accepted: [number, number][] = [];
  const asked: [number, number][] = [];
  let requests = 0;
  let offered = 0;
  let refused = 0;
  await Promise.all(
    o.containers.map(async (limiter, i) => {
      const random = prng(o.seed + i);
      while (Date.now() < end) {
        const count = 1 + Math.floor(random() * o.maxEvents);
        requests++;
        offered += count;
        asked.push([Date.now(), count]);
        const decision = await limiter.take(o.sourceId, o.limit, count);
        if (decision.ok) accepted.push([Date.now(), count]);
        else refused++;
        await new Promise((r) => setTimeout(r, o.gapMs));
      }
    }),
  );
  const seconds = Math.floor(o.durationMs / 1000);
  const bySecond = (events: readonly [number, number][]) => {
    const sums = Array.from({ length: seconds }, () => 0);
    for (const [at, count] of events) {
      const s = Math.floor((at - start) / 1000);
      if (s < seconds) sums[s] = (sums[s] ?? 0) + count;
    }
    return sums;
  };
  return {
    requests,
    offeredPerSecond: Math.round(offered / (o.durationMs / 1000)),
    acceptedEvents: accepted.reduce((n, [, c]) => n + c, 0),
    refusedRequests: refused,
    perSecond: bySecond(accepted),
    askedPerSecond: bySecond(asked),
  };
};
