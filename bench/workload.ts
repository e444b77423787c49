/**
 * The reference aggregation workload, deterministic (seeded): users in sessions of a few to a
 * couple of dozen events, a fixed number of sessions open at once whose events interleave, each
 * session on one campaign, all six engagement types, on a virtual clock of a steady event rate.
 * Delivered as Kinesis records: routed to shards by the MD5 of the partition key (the person
 * key) as Kinesis does, sequence numbers growing per shard, cut into batches per shard.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { CanonicalEvent } from '../functions/core/events';
import { CHANNELS, DEVICE_TYPES, type EventType } from '../functions/core/events';
import { quarterOf } from '../functions/core/time-buckets';
import { typeExtras } from '../test/support/events';
import { toRecord } from '../test/support/stream-records';

export interface WorkloadOptions {
  users: number;
  /** Sessions open at any time; their events interleave. */
  concurrentSessions: number;
  minSessionEvents: number;
  maxSessionEvents: number;
  campaigns: number;
  /** Virtual event rate: sets how the events spread over quarter-hour buckets. */
  eventsPerSecond: number;
  seed: number;
  /** Prefix of event ids and campaign ids, so runs never collide. */
  prefix: string;
}

export const REFERENCE: WorkloadOptions = {
  users: 2000,
  concurrentSessions: 200,
  minSessionEvents: 5,
  maxSessionEvents: 20,
  campaigns: 10,
  eventsPerSecond: 10,
  seed: 42,
  prefix: 'ref',
};

/** mulberry32: small, fast, good enough to shuffle a workload reproducibly. */
export const prng = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** A session's first event is a view; after that, types by these weights. */
const TYPE_WEIGHTS: [EventType, number][] = [
  ['view', 40],
  ['click', 25],
  ['video-play', 12],
  ['custom', 10],
  ['share', 8],
  ['conversion', 5],
];
const TOTAL_WEIGHT = TYPE_WEIGHTS.reduce((n, [, w]) => n + w, 0);

export const generateWorkload = (o: WorkloadOptions): CanonicalEvent[] => {
  const random = prng(o.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
  const pickType = (): EventType => {
    let r = random() * TOTAL_WEIGHT;
    for (const [type, w] of TYPE_WEIGHTS) {
      r -= w;
      if (r < 0) return type;
    }
    return 'view';
  };
  const campaigns = Array.from({ length: o.campaigns }, (_, i) => `${o.prefix}-camp-${i}`);
  const users = Array.from({ length: o.users }, (_, i) => ({
    personKey: `${o.prefix}-user-${String(i).padStart(5, '0')}`,
    deviceType: pick(DEVICE_TYPES),
    channel: pick(CHANNELS),
  }));
  // Users arrive in a shuffled order; each has one session.
  for (let i = users.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [users[i], users[j]] = [users[j] as (typeof users)[number], users[i] as (typeof users)[number]];
  }
  const start = Date.parse(`${quarterOf(new Date(Date.now() - 3 * 3600_000))}:00.000Z`);
  type Session = { user: (typeof users)[number]; campaignId: string; left: number; sent: number };
  let nextUser = 0;
  const open = (): Session | undefined => {
    const user = users[nextUser++];
    if (!user) return undefined;
    const left = o.minSessionEvents + Math.floor(random() * (o.maxSessionEvents - o.minSessionEvents + 1));
    return { user, campaignId: pick(campaigns), left, sent: 0 };
  };
  const active: Session[] = [];
  for (let i = 0; i < o.concurrentSessions; i++) {
    const s = open();
    if (s) active.push(s);
  }
  const events: CanonicalEvent[] = [];
  while (active.length > 0) {
    const k = Math.floor(random() * active.length);
    const s = active[k] as Session;
    const type = s.sent === 0 ? 'view' : pickType();
    const at = new Date(start + Math.round((events.length * 1000) / o.eventsPerSecond)).toISOString();
    events.push({
      v: 1,
      eventId: `${o.prefix}-e-${events.length}`,
      type,
      personKey: s.user.personKey,
      userId: s.user.personKey,
      campaignId: s.campaignId,
      deviceType: s.user.deviceType,
      channel: s.user.channel,
      data: { ...typeExtras[type] },
      properties: { screen: 'home', position: events.length % 7 },
      timestamp: at,
      receivedAt: at,
      eventTime: at,
      sourceId: 'src_bench',
      door: 'api',
    });
    s.sent++;
    if (--s.left === 0) {
      const next = open();
      if (next) active[k] = next;
      else active.splice(k, 1);
    }
  }
  return events;
};

/** The same events, each from a person of its own: no two events share a person item. */
export const everyEventItsOwnPerson = (events: readonly CanonicalEvent[]): CanonicalEvent[] =>
  events.map((e, i) => ({ ...e, personKey: `solo-${i}`, userId: `solo-${i}` }));

export const shardIdOf = (n: number) => `shardId-${String(n).padStart(12, '0')}`;

/** Kinesis routing: the MD5 of the partition key as a 128-bit number, shards splitting the range evenly. */
export const shardOfKey = (partitionKey: string, shards: number): number => {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
  return Number((hash * BigInt(shards)) >> 128n);
};

/** Per shard, in stream order, batches of at most `batchSize` records. */
export const toBatches = (
  events: readonly CanonicalEvent[],
  shards: number,
  batchSize: number,
): KinesisStreamRecord[][] => {
  const perShard: KinesisStreamRecord[][] = Array.from({ length: shards }, () => []);
  for (const e of events) {
    const n = shardOfKey(e.personKey, shards);
    const records = perShard[n] as KinesisStreamRecord[];
    records.push(toRecord(e, records.length, shardIdOf(n)));
  }
  // Shards are consumed side by side: interleave their batches (each shard stays in order).
  const cut = perShard.map((records) => {
    const out: KinesisStreamRecord[][] = [];
    for (let i = 0; i < records.length; i += batchSize) out.push(records.slice(i, i + batchSize));
    return out;
  });
  const batches: KinesisStreamRecord[][] = [];
  for (let i = 0; cut.some((c) => i < c.length); i++)
    for (const c of cut) if (c[i]) batches.push(c[i] as KinesisStreamRecord[]);
  return batches;
};
