/**
 * Per-person read model: stats that profiles, segment rules and scoring read, and the dedup
 * state that makes client retries count once. Pure: repositories load and store it.
 *
 * Dedup lives in the person item because every copy of an event carries the same person key,
 * so it always meets the same item — an item the batch writes anyway. Each entry is the
 * event id's hash plus a tag of the stream record that first carried it, which tells a
 * redelivery of that record (count it wherever it is not yet applied) from a client retry
 * (a different record: never count it).
 */
import { createHash } from 'node:crypto';
import type { CanonicalEvent } from './envelope';

/** Client retries are recognised for this long after the first copy was received (Amplitude's 7 days). */
export const DEDUP_WINDOW_DAYS = 7;
/** The longest a segment rule may look back over daily counts. */
export const DAILY_WINDOW_DAYS = 90;
/** Campaigns remembered per person (most recent). */
export const MAX_CAMPAIGNS = 100;

const ID_BYTES = 8;
const TAG_BYTES = 4;
const ENTRY_BYTES = ID_BYTES + TAG_BYTES;

export interface PersonStats {
  personKey: string;
  firstSeen?: string;
  lastSeen?: string;
  counts: Record<string, number>;
  /** Daily counts by type, by skew-corrected UTC day, over the last DAILY_WINDOW_DAYS. */
  days: Record<string, Record<string, number>>;
  channels: string[];
  /** campaignId → last seen. */
  campaigns: Record<string, string>;
  conversions: { count: number; value: Record<string, number> };
  /** Received day → concatenated (id hash, record tag) entries. */
  dedup: Record<string, Uint8Array>;
  /** Shard id → padded sequence number of the last record applied to this item. */
  checkpoints: Record<string, string>;
}

export const emptyPerson = (personKey: string): PersonStats => ({
  personKey,
  counts: {},
  days: {},
  channels: [],
  campaigns: {},
  conversions: { count: 0, value: {} },
  dedup: {},
  checkpoints: {},
});

/** Kinesis sequence numbers are up to 56 digits: compare them as fixed-width strings. */
export const padSequence = (sequenceNumber: string): string => sequenceNumber.padStart(64, '0');

const idHash = (eventId: string) => createHash('sha256').update(eventId).digest().subarray(0, ID_BYTES);
const recordTag = (shardId: string, seq: string) =>
  createHash('sha256').update(shardId).update(seq).digest().subarray(0, TAG_BYTES);

export interface StreamEvent {
  shardId: string;
  /** Padded sequence number. */
  seq: string;
  event: CanonicalEvent;
}

/**
 * `new`: first copy, applied now; `replay`: first copy, already applied to this person (a
 * redelivery) — still counted wherever an item has not seen it; `duplicate`: a client retry.
 */
export type Verdict = 'new' | 'replay' | 'duplicate';

/** Dedup entries by id hash (hex) → record tag (hex). */
const entriesOf = (dedup: Record<string, Uint8Array>): Map<string, string> => {
  const out = new Map<string, string>();
  for (const bytes of Object.values(dedup))
    for (let i = 0; i + ENTRY_BYTES <= bytes.byteLength; i += ENTRY_BYTES) {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset + i, ENTRY_BYTES);
      out.set(b.subarray(0, ID_BYTES).toString('hex'), b.subarray(ID_BYTES).toString('hex'));
    }
  return out;
};

const dayMs = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Judge a person's records (in stream order) against the stored state and apply the ones
 * this item has not seen. Returns each record's verdict (a redelivered record keeps its
 * first verdict) and the next state (undefined when nothing changed).
 */
export const judgeAndApply = (
  stored: PersonStats,
  records: readonly StreamEvent[],
  now: Date,
): { verdicts: Verdict[]; next: PersonStats | undefined } => {
  const known = entriesOf(stored.dedup);
  const next: PersonStats = structuredClone(stored);
  const fresh: Buffer[] = [];
  let changed = false;
  const verdicts = records.map((r): Verdict => {
    const id = idHash(r.event.eventId).toString('hex');
    const tag = recordTag(r.shardId, r.seq).toString('hex');
    const applied = (next.checkpoints[r.shardId] ?? '') >= r.seq;
    const firstTag = known.get(id);
    if (applied) return firstTag === tag ? 'replay' : 'duplicate';
    next.checkpoints[r.shardId] = r.seq;
    changed = true;
    if (firstTag !== undefined) return 'duplicate';
    known.set(id, tag);
    fresh.push(Buffer.concat([Buffer.from(id, 'hex'), Buffer.from(tag, 'hex')]));
    applyEvent(next, r.event);
    return 'new';
  });
  if (!changed) return { verdicts, next: undefined };

  // Dedup entries go under today's received day; days past the window drop off.
  const today = dayOf(now.getTime());
  if (fresh.length > 0) next.dedup[today] = Buffer.concat([next.dedup[today] ?? new Uint8Array(), ...fresh]);
  const oldestDedup = dayOf(now.getTime() - DEDUP_WINDOW_DAYS * dayMs);
  for (const day of Object.keys(next.dedup)) if (day < oldestDedup) delete next.dedup[day];
  const oldestDaily = dayOf(now.getTime() - DAILY_WINDOW_DAYS * dayMs);
  for (const day of Object.keys(next.days)) if (day < oldestDaily) delete next.days[day];
  return { verdicts, next };
};

/** Fold one new event into the stats. */
export const applyEvent = (stats: PersonStats, event: CanonicalEvent): void => {
  const t = event.eventTime;
  if (!stats.firstSeen || t < stats.firstSeen) stats.firstSeen = t;
  if (!stats.lastSeen || t > stats.lastSeen) stats.lastSeen = t;
  stats.counts[event.type] = (stats.counts[event.type] ?? 0) + 1;
  const day = t.slice(0, 10);
  const daily = stats.days[day] ?? {};
  stats.days[day] = daily;
  daily[event.type] = (daily[event.type] ?? 0) + 1;
  if (event.channel && !stats.channels.includes(event.channel)) stats.channels.push(event.channel);
  if (event.campaignId) {
    const previous = stats.campaigns[event.campaignId];
    if (!previous || t > previous) stats.campaigns[event.campaignId] = t;
    const ids = Object.keys(stats.campaigns);
    if (ids.length > MAX_CAMPAIGNS) {
      const oldest = ids.reduce((a, b) =>
        (stats.campaigns[a] as string) <= (stats.campaigns[b] as string) ? a : b,
      );
      delete stats.campaigns[oldest];
    }
  }
  if (event.type === 'conversion') {
    stats.conversions.count++;
    const value = event.data.value;
    if (typeof value === 'number') {
      const currency = typeof event.data.currency === 'string' ? event.data.currency : 'XXX';
      stats.conversions.value[currency] = round2((stats.conversions.value[currency] ?? 0) + value);
    }
  }
};

const round2 = (n: number) => Math.round(n * 100) / 100;
