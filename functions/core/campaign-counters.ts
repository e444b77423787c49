/**
 * Counters, pre-aggregated per batch: one delta per (campaign, quarter-hour), one per campaign
 * total and one per experiment variant, each carrying the sequence numbers of its contributing
 * records so a write can apply exactly the records its item has not seen. What each counter
 * means is declared in aggregates.ts. Pure.
 */
import { campaignContribution, experimentAggregates, roundAmount, touchAttribute } from './aggregates';
import type { CanonicalEvent } from './events';
import type { Effect } from './person';
import { quarterOf } from './time-buckets';
import { personHash } from './uniques';

export const TOTAL_BUCKET = 'total';

export interface Contribution {
  seq: string;
  /** Counter attribute → amount added. */
  fields: Record<string, number>;
  person: Buffer;
}

/** A counter item: a campaign's quarter-hour or total, or an experiment variant's results. */
export type CounterTarget =
  | {
      kind: 'campaign';
      campaignId: string /** Quarter-hour (`2026-06-01T10:45`) or TOTAL_BUCKET. */;
      bucket: string;
    }
  | { kind: 'experiment'; experimentId: string; variant: string };

export interface CounterDelta {
  target: CounterTarget;
  contributions: Contribution[];
}

/** The id of what a counter belongs to (campaign or experiment), for the shard registry. */
export const ownerOf = (t: CounterTarget): { kind: CounterTarget['kind']; id: string } =>
  t.kind === 'campaign' ? { kind: 'campaign', id: t.campaignId } : { kind: 'experiment', id: t.experimentId };

/**
 * Countable records → one delta per counter item: campaign quarter and total counters from
 * each event's own fields, experiment counters from the record's effects.
 */
export const foldCounters = (
  records: readonly { seq: string; event: CanonicalEvent; effects?: readonly Effect[] }[],
  idKey?: Uint8Array,
): CounterDelta[] => {
  const deltas = new Map<string, CounterDelta>();
  const add = (target: CounterTarget, c: Contribution) => {
    const key = JSON.stringify(target);
    let delta = deltas.get(key);
    if (!delta) {
      delta = { target, contributions: [] };
      deltas.set(key, delta);
    }
    delta.contributions.push(c);
  };
  for (const { seq, event, effects } of records) {
    for (const e of effects ?? []) {
      if (e.kind === 'touch') {
        // A conversion's credit to the campaign that touched the person first / last.
        const fields = { [touchAttribute(e.model)]: 1 };
        add(
          { kind: 'campaign', campaignId: e.campaignId, bucket: quarterOf(event.eventTime) },
          { seq, fields, person: NO_PERSON },
        );
        add(
          { kind: 'campaign', campaignId: e.campaignId, bucket: TOTAL_BUCKET },
          { seq, fields, person: NO_PERSON },
        );
        continue;
      }
      add(
        { kind: 'experiment', experimentId: e.experimentId, variant: e.variant },
        {
          seq,
          fields: {
            ...(e.kind !== 'metric' && {
              [experimentAggregates[e.kind === 'exposure' ? 'exposures' : 'conversions'].attribute]: 1,
            }),
            // experiments v2: covariates at exposure and metric sums (experiment-metrics.ts)
            ...e.fields,
          },
          person: NO_PERSON,
        },
      );
    }
    if (event.campaignId === undefined || event.type === 'identify' || event.type === 'exposure') continue;
    const contribution = {
      seq,
      fields: campaignContribution(event),
      // Bots are not people: their events count apart, never among the campaign's persons.
      person: event.bot === undefined ? personHash(event.personKey, idKey) : NO_PERSON,
    };
    add({ kind: 'campaign', campaignId: event.campaignId, bucket: quarterOf(event.eventTime) }, contribution);
    add({ kind: 'campaign', campaignId: event.campaignId, bucket: TOTAL_BUCKET }, contribution);
  }
  return [...deltas.values()];
};

/** Experiment counters keep no person sets: distinctness comes from the person's state. */
const NO_PERSON = Buffer.alloc(0);

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
    for (const [f, amount] of Object.entries(c.fields)) counts[f] = roundAmount((counts[f] ?? 0) + amount);
    if (c.person.length > 0) persons.set(c.person.toString('hex'), c.person);
  }
  return lastSeq === '' ? undefined : { counts, persons: [...persons.values()], firstSeq, lastSeq };
};
