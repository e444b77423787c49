/**
 * Campaign counters, pre-aggregated per batch: one delta per (campaign, quarter-hour) and one
 * per campaign total, each carrying the sequence numbers of its contributing records so a
 * write can apply exactly the records its item has not seen. Pure.
 */
import { quarterOf } from './buckets';
import type { CanonicalEvent } from './envelope';
import { personHash } from './uniques';

/** Counter attributes an event adds one to. */
export const counterFields = (event: CanonicalEvent): string[] => [
  'n',
  `t_${event.type}`,
  `d_${event.deviceType}`,
  `c_${event.channel ?? 'none'}`,
];

export const TOTAL_BUCKET = 'total';

export interface Contribution {
  seq: string;
  fields: string[];
  person: Buffer;
}

export interface CounterDelta {
  campaignId: string;
  /** Quarter-hour (`2026-06-01T10:45`) or TOTAL_BUCKET. */
  bucket: string;
  contributions: Contribution[];
}

/** New events with a campaign → deltas keyed by `campaign\u0000bucket`. */
export const foldCampaignCounters = (
  records: readonly { seq: string; event: CanonicalEvent }[],
  idKey?: Uint8Array,
): CounterDelta[] => {
  const deltas = new Map<string, CounterDelta>();
  const add = (campaignId: string, bucket: string, c: Contribution) => {
    const key = `${campaignId}\u0000${bucket}`;
    let delta = deltas.get(key);
    if (!delta) {
      delta = { campaignId, bucket, contributions: [] };
      deltas.set(key, delta);
    }
    delta.contributions.push(c);
  };
  for (const { seq, event } of records) {
    if (event.campaignId === undefined) continue;
    const contribution = { seq, fields: counterFields(event), person: personHash(event.personKey, idKey) };
    add(event.campaignId, quarterOf(event.eventTime), contribution);
    add(event.campaignId, TOTAL_BUCKET, contribution);
  }
  return [...deltas.values()];
};

export interface Summed {
  counts: Record<string, number>;
  persons: Buffer[];
  firstSeq: string;
  lastSeq: string;
}

/** The sum of contributions newer than `after` (an item's checkpoint), or undefined if none. */
export const sumAfter = (contributions: readonly Contribution[], after = ''): Summed | undefined => {
  const counts: Record<string, number> = {};
  const persons = new Map<string, Buffer>();
  let firstSeq = '';
  let lastSeq = '';
  for (const c of contributions) {
    if (c.seq <= after) continue;
    if (firstSeq === '' || c.seq < firstSeq) firstSeq = c.seq;
    if (c.seq > lastSeq) lastSeq = c.seq;
    for (const f of c.fields) counts[f] = (counts[f] ?? 0) + 1;
    persons.set(c.person.toString('hex'), c.person);
  }
  return lastSeq === '' ? undefined : { counts, persons: [...persons.values()], firstSeq, lastSeq };
};
