/**
 * Per-source rate limits that hold across every ingest container, without a hot key and without
 * a DynamoDB write per request.
 *
 * A source may send `limit` events in each one-second window (epoch seconds). That allowance is
 * split over `shardsFor(limit)` counter items in the limits table (`rate#<source>#<shard>` /
 * `<second>`), each holding a share of it, so a source's writes spread over as many partitions
 * as its limit needs. A container *leases* a slice of a window with one UpdateItem on one shard:
 * an atomic `ADD n :ask` returning the new total, which says how much of the slice was still
 * within the shard's share (fetch-and-add: what every container is granted sums to the share at
 * most, never more, and a lease never fails on a condition). It then serves requests from memory
 * until the slice is used up.
 *
 * A slice is what this container let through over the last second, scaled to a quarter of a
 * second (never past the window's end), on top of what the request needs: steady traffic costs a few writes per
 * container per second whatever the request rate, and what a container holds unused when a
 * window closes stays small, so a source's accepted rate stays close to its limit however many
 * containers share it. A container that learns a shard is spent for a window (its lease came
 * back short) does not ask it again in that window: refusals cost no write either.
 *
 * A request needing more than is left waits for the next window when that starts within
 * `maxWaitMs` (its slice is leased now and used when the window opens), else it is refused with
 * the seconds to wait. A request of more events than the limit can never fit a window and is
 * refused as too large; nothing passes into an empty window for free.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_RATE_LIMIT } from '../core/sources';

const WINDOW_MS = 1000;
/** Events of allowance per counter shard: a source's writes spread over ceil(limit / this) items. */
export const EVENTS_PER_SHARD = 1000;
/** The most shards a source's counter has: the largest configurable limit needs this many. */
export const MAX_SHARDS = Math.ceil(MAX_RATE_LIMIT / EVENTS_PER_SHARD);
/** A lease covers the container's demand over this long (capped by the window's end). */
const LEASE_MS = 250;
/** Lease writes one request may make per window before it gives up on that window. */
const PROBES_PER_WINDOW = 3;
/** Counter items outlive their window by this much (TTL), for operators reading them. */
const WINDOW_TTL_SECONDS = 120;
/** Sources whose windows a container remembers; past this, the oldest state is dropped. */
const MAX_SOURCES = 10_000;

export const shardsFor = (limit: number, eventsPerShard = EVENTS_PER_SHARD): number =>
  Math.min(MAX_SHARDS, Math.max(1, Math.ceil(limit / eventsPerShard)));

/** A shard's share of the limit: the shares of all shards add up to the limit exactly. */
export const shardShare = (limit: number, shards: number, shard: number): number =>
  Math.floor(limit / shards) + (shard < limit % shards ? 1 : 0);

export interface RateLimiterOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Longest a request waits for the next window's allowance before it is refused. */
  maxWaitMs?: number;
  /** Picks shards (injected for deterministic tests). */
  random?: () => number;
  /** Events of allowance per counter shard (tests shard small limits with a smaller figure). */
  eventsPerShard?: number;
}

export interface RateDecision {
  ok: boolean;
  /** When refused: seconds until a retry can pass (Retry-After). */
  retryAfterSeconds: number;
  /** Refused because the request holds more events than the whole per-second limit. */
  tooLarge?: boolean;
}

/** What a container knows of one window of one source. */
interface Window {
  /** Leased and not used yet. */
  left: number;
  /**
   * Events this container let through in the window: its demand, which sizes leases. Not what it
   * was asked for: over the limit that is many times what it can have, and leases sized to it
   * would leave allowance idle in containers that then get no traffic.
   */
  taken: number;
  /** Shards whose share is spent. */
  spent: Set<number>;
}

export class RateLimiter {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxWaitMs: number;
  private readonly random: () => number;
  private readonly eventsPerShard: number;
  /** sourceId → window (epoch second) → what this container holds of it. */
  private readonly sources = new Map<string, Map<number, Window>>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: RateLimiterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxWaitMs = options.maxWaitMs ?? 500;
    this.random = options.random ?? Math.random;
    this.eventsPerShard = options.eventsPerShard ?? EVENTS_PER_SHARD;
  }

  /**
   * Take `count` events of the source's allowance: resolves once they are taken (after a brief
   * wait for the next window, at most `maxWaitMs`), or with `ok: false` and the seconds to wait.
   */
  async take(sourceId: string, limit: number, count: number): Promise<RateDecision> {
    if (count > limit) return { ok: false, retryAfterSeconds: 0, tooLarge: true };
    const started = this.now();
    const current = Math.floor(started / WINDOW_MS);
    const windows = this.windowsOf(sourceId, current);
    const demand = Math.max(windows.get(current - 1)?.taken ?? 0, windowOf(windows, current).taken);

    const gatheredFrom: [number, number][] = [];
    let gathered = 0;
    let w = current;
    for (; w === current || w * WINDOW_MS - started <= this.maxWaitMs; w++) {
      const got = await this.gather(sourceId, limit, windowOf(windows, w), w, count - gathered, demand);
      if (got > 0) gatheredFrom.push([w, got]);
      gathered += got;
      if (gathered === count) {
        windowOf(windows, current).taken += count;
        // Timers may fire a millisecond early by the wall clock: never accept before it opens.
        for (let opensIn = w * WINDOW_MS - this.now(); opensIn > 0; opensIn = w * WINDOW_MS - this.now())
          await this.sleep(opensIn);
        return { ok: true, retryAfterSeconds: 0 };
      }
    }
    // Refused: what was gathered stays with this container for its next requests.
    for (const [window, n] of gatheredFrom) windowOf(windows, window).left += n;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((w * WINDOW_MS - this.now()) / 1000)) };
  }

  /** Up to `need` events of window `w`: from what this container holds, then from leases. */
  private async gather(
    sourceId: string,
    limit: number,
    held: Window,
    w: number,
    need: number,
    demand: number,
  ): Promise<number> {
    const shards = shardsFor(limit, this.eventsPerShard);
    let got = Math.min(need, held.left);
    held.left -= got;
    for (let probe = 0; got < need && probe < PROBES_PER_WINDOW && held.spent.size < shards; probe++) {
      const shard = this.pickShard(shards, held.spent);
      const share = shardShare(limit, shards, shard);
      const untilEnd = Math.max(0, (w + 1) * WINDOW_MS - this.now());
      const ahead = Math.ceil((demand * Math.min(LEASE_MS, untilEnd)) / WINDOW_MS);
      const ask = Math.min(share, need - got + ahead);
      const granted = await this.lease(sourceId, shard, w, ask, share);
      if (granted < ask) held.spent.add(shard);
      // Other requests of this container may have drawn on what it holds meanwhile: take after.
      held.left += granted;
      const more = Math.min(need - got, held.left);
      held.left -= more;
      got += more;
    }
    return got;
  }

  /** One lease: ADD `ask` to the shard's counter; granted is the part still within its share. */
  private async lease(sourceId: string, shard: number, w: number, ask: number, share: number) {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `rate#${sourceId}#${shard}`, sk: String(w) },
        UpdateExpression: 'ADD n :ask SET expiresAt = :ttl',
        ExpressionAttributeValues: { ':ask': ask, ':ttl': w + WINDOW_TTL_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const total = Number(out.Attributes?.n ?? ask);
    return Math.max(0, Math.min(ask, share - (total - ask)));
  }

  private pickShard(shards: number, spent: ReadonlySet<number>): number {
    const open = shards - spent.size;
    let k = Math.floor(this.random() * open);
    for (let shard = 0; shard < shards; shard++) if (!spent.has(shard) && k-- === 0) return shard;
    return 0;
  }

  /** The source's windows, with those before the previous one forgotten. */
  private windowsOf(sourceId: string, current: number): Map<number, Window> {
    let windows = this.sources.get(sourceId);
    if (!windows) {
      if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value as string);
      windows = new Map();
      this.sources.set(sourceId, windows);
    }
    for (const w of windows.keys()) if (w < current - 1) windows.delete(w);
    return windows;
  }
}

const windowOf = (windows: Map<number, Window>, w: number): Window => {
  let held = windows.get(w);
  if (!held) {
    held = { left: 0, taken: 0, spent: new Set() };
    windows.set(w, held);
  }
  return held;
};
