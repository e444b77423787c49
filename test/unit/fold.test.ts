import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldCounters, sumAfter } from '../../functions/core/campaign-counters';
import type { CanonicalEvent } from '../../functions/core/events';
import {
  type Effect,
  emptyPerson,
  entriesOf,
  INLINE_DEDUP_MAX,
  inlineDedupEntries,
  judgeAndApply,
  type PersonStats,
  padSequence,
  type StreamEvent,
  sealDedup,
} from '../../functions/core/person';
import { canonicalEvent, SHARD, sequenceNumber, truth } from '../support/stream-records';

/**
 * An in-memory model of the stores with the same per-item checkpoint rule the repositories
 * enforce with conditional writes: the pure fold must give exact totals under any delivery.
 */
const model = () => {
  const people = new Map<string, PersonStats>();
  const counters = new Map<string, { cp: string; counts: Record<string, number> }>();
  const deliver = (batch: StreamEvent[]) => {
    const byPerson = new Map<string, StreamEvent[]>();
    for (const e of batch) byPerson.set(e.event.personKey, [...(byPerson.get(e.event.personKey) ?? []), e]);
    const countable: (StreamEvent & { effects?: Effect[] })[] = [];
    for (const [key, events] of byPerson) {
      const judged = judgeAndApply(people.get(key) ?? emptyPerson(key), events, new Date());
      if (judged.next) people.set(key, judged.next);
      // With their effects: a conversion's first/last-touch credits count on other campaigns.
      for (const [i, e] of events.entries())
        if (judged.verdicts[i] !== 'duplicate') countable.push({ ...e, effects: judged.effects[i] ?? [] });
    }
    countable.sort((a, b) => (a.seq < b.seq ? -1 : 1));
    for (const delta of foldCounters(countable)) {
      if (delta.target.kind !== 'campaign') continue;
      const key = `${delta.target.campaignId}|${delta.target.bucket}`;
      const item = counters.get(key) ?? { cp: '', counts: {} };
      const sum = sumAfter(delta.contributions, item.cp);
      if (!sum) continue;
      for (const [f, n] of Object.entries(sum.counts)) item.counts[f] = (item.counts[f] ?? 0) + n;
      item.cp = sum.lastSeq;
      counters.set(key, item);
    }
  };
  const totals = (campaignId: string) => counters.get(`${campaignId}|total`)?.counts;
  return { deliver, totals, people };
};

const streamOf = (events: CanonicalEvent[]): StreamEvent[] =>
  events.map((event, i) => ({ shardId: SHARD, seq: padSequence(sequenceNumber(i)), event }));

const arbitraryWorkload = fc
  .array(
    fc.record({
      person: fc.integer({ min: 0, max: 4 }),
      campaign: fc.constantFrom('x', 'y'),
      retryOf: fc.option(fc.nat(), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) => {
    const events: CanonicalEvent[] = [];
    for (const s of specs) {
      const original =
        s.retryOf !== undefined && events.length > 0 ? events[s.retryOf % events.length] : undefined;
      events.push(original ?? canonicalEvent({ personKey: `p${s.person}`, campaignId: s.campaign }));
    }
    return events;
  });

describe('the aggregation fold', () => {
  it('gives the totals of the distinct events under any split and redelivery', () => {
    fc.assert(
      fc.property(
        arbitraryWorkload,
        fc.array(fc.record({ back: fc.nat(20), length: fc.integer({ min: 1, max: 25 }) }), { maxLength: 8 }),
        (events, schedule) => {
          const stream = streamOf(events);
          const m = model();
          let progress = 0;
          for (const { back, length } of schedule) {
            const from = Math.max(0, progress - back);
            const to = Math.min(stream.length, from + length);
            m.deliver(stream.slice(from, to));
            progress = Math.max(progress, to);
          }
          if (progress < stream.length) m.deliver(stream.slice(progress));
          const t = truth(events);
          for (const campaign of ['x', 'y']) expect(m.totals(campaign)).toEqual(t.totals.get(campaign));
          // Per-person stats count each distinct event once too.
          for (const [key, stats] of m.people) {
            const distinct = new Set(events.filter((e) => e.personKey === key).map((e) => e.eventId));
            expect(Object.values(stats.counts).reduce((a, b) => a + b, 0)).toBe(distinct.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tells a redelivered record from a client retry of it', () => {
    const first = canonicalEvent({ personKey: 'p' });
    const stream = streamOf([first, { ...first }]);
    const once = judgeAndApply(emptyPerson('p'), stream, new Date());
    expect(once.verdicts).toEqual(['new', 'duplicate']);
    const again = judgeAndApply(once.next as PersonStats, stream, new Date());
    expect(again.verdicts).toEqual(['replay', 'duplicate']);
    expect(again.next).toBeUndefined();
  });

  it('forgets dedup entries after the window and daily counts after 90 days', () => {
    const e = canonicalEvent({ personKey: 'p', eventTime: '2026-01-01T10:00:00.000Z' });
    const stored = judgeAndApply(emptyPerson('p'), streamOf([e]), new Date('2026-01-01T10:00:00Z'))
      .next as PersonStats;
    expect(Object.keys(stored.dedup)).toEqual(['2026-01-01']);
    const later = canonicalEvent({ personKey: 'p', eventTime: '2026-04-15T10:00:00.000Z' });
    const next = judgeAndApply(
      stored,
      [{ shardId: SHARD, seq: padSequence(sequenceNumber(9)), event: later }],
      new Date('2026-04-15T10:00:00Z'),
    ).next as PersonStats;
    expect(Object.keys(next.dedup)).toEqual(['2026-04-15']);
    expect(Object.keys(next.days)).toEqual(['2026-04-15']);
    expect(next.firstSeen).toBe('2026-01-01T10:00:00.000Z');
  });
});

describe('sealed dedup pages', () => {
  it('seal the inline entries past the bound, deterministically, and drop with the window', () => {
    const now = new Date('2026-06-10T12:00:00Z');
    const person = emptyPerson('busy');
    const records = Array.from({ length: INLINE_DEDUP_MAX + 1 }, (_, i) => ({
      shardId: 's',
      seq: String(i + 1).padStart(64, '0'),
      event: canonicalEvent({ personKey: 'busy', userId: 'busy', eventId: `busy-${i}` }),
    }));
    const next = judgeAndApply(person, records, now).next as PersonStats;
    expect(inlineDedupEntries(next)).toBe(INLINE_DEDUP_MAX + 1);
    const sealed = sealDedup(next);
    expect(sealed?.next.dedup).toEqual({});
    expect(sealed?.next.dedupPages).toEqual([sealed?.ref]);
    expect(sealed?.ref).toMatchObject({ owner: 'busy', lastDay: '2026-06-10' });
    // The same content seals to the same page: a retried seal rewrites the same item.
    expect(sealDedup(next)?.ref).toEqual(sealed?.ref);
    expect(sealDedup(person)).toBeUndefined();
    // A retry of a sealed event (a new record) is a duplicate once the page is looked up.
    const entries = entriesOf(sealed?.page ?? {});
    const retry = { ...(records[0] as (typeof records)[number]), seq: '9'.repeat(64) };
    const sealedPerson = sealed?.next as PersonStats;
    expect(judgeAndApply(sealedPerson, [retry], now, { sealed: (id) => entries.get(id) }).verdicts).toEqual([
      'duplicate',
    ]);
    expect(judgeAndApply(sealedPerson, [retry], now).verdicts).toEqual(['new']);
    // Eight days on, the page has left the dedup window and the person no longer points at it.
    const later = judgeAndApply(
      sealedPerson,
      [{ ...retry, event: canonicalEvent({ personKey: 'busy' }) }],
      new Date('2026-06-18T12:00:00Z'),
    );
    expect(later.next?.dedupPages).toEqual([]);
  });
});
