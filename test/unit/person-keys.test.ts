/**
 * Maps keyed by client data in the person read model: ids that are also names of
 * Object.prototype's members are kept like any other.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../functions/core/events';
import {
  emptyPerson,
  judgeAndApply,
  mergeProfiles,
  padSequence,
  type StreamEvent,
} from '../../functions/core/person';
import { canonicalEvent, SHARD, sequenceNumber } from '../support/stream-records';

/** Read as a key of a map, never as the accessor. */
const PROTO = '__proto__';
const now = new Date('2026-06-10T12:00:00.000Z');
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
const at = (i: number) => new Date(now.getTime() - 3600_000 + i * 1000).toISOString();

const record = (i: number, over: Partial<CanonicalEvent>): StreamEvent => ({
  shardId: SHARD,
  seq: padSequence(sequenceNumber(i)),
  event: canonicalEvent({ personKey: 'p', userId: 'p', type: 'click', eventTime: at(i), ...over }),
});

describe('person maps keyed by client data', () => {
  it('count campaigns named like prototype members and remember them', () => {
    const records = PROTOTYPE_NAMES.map((campaignId, i) => record(i, { campaignId }));
    const { next, verdicts } = judgeAndApply(emptyPerson('p'), records, now);
    expect(verdicts.every((v) => v === 'new')).toBe(true);
    expect(Object.keys(next?.campaigns ?? {}).sort()).toEqual([...PROTOTYPE_NAMES].sort());
    expect(next?.campaigns[PROTO]).toBe(at(0));
    expect(next?.campaigns.constructor).toBe(at(1));
    expect(next?.counts.click).toBe(PROTOTYPE_NAMES.length);
    expect(Object.getPrototypeOf(next?.campaigns)).toBeNull();
  });

  it('keep them through a second batch (a cloned state) and a merge', () => {
    const first = judgeAndApply(emptyPerson('p'), [record(0, { campaignId: '__proto__' })], now).next;
    const second = judgeAndApply(
      first ?? emptyPerson('p'),
      [record(1, { campaignId: 'constructor' }), record(2, { campaignId: '__proto__' })],
      now,
    ).next;
    expect(second?.campaigns[PROTO]).toBe(at(2));
    expect(second?.campaigns.constructor).toBe(at(1));

    const anon = judgeAndApply(
      emptyPerson('a'),
      [record(3, { personKey: 'a', userId: undefined, anonymousId: 'a', campaignId: 'toString' })],
      now,
    ).next;
    const merged = mergeProfiles(second ?? emptyPerson('p'), anon ?? emptyPerson('a'), now);
    expect(Object.keys(merged.campaigns).sort()).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('keep a conversion currency or an experiment named like a prototype member', () => {
    const conversion = record(0, {
      type: 'conversion',
      campaignId: 'c',
      data: { value: 10, currency: '__proto__' },
    });
    const exposure = record(1, {
      type: 'exposure',
      campaignId: 'c',
      experimentId: 'constructor',
      variant: 'b',
      data: {},
    });
    const { next } = judgeAndApply(emptyPerson('p'), [conversion, exposure], now);
    expect(next?.conversions.value[PROTO]).toBe(10);
    expect(next?.experiments.constructor).toMatchObject({ variant: 'b' });
  });
});
