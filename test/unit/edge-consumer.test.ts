/**
 * Clean data at the edge, the consumer's half: bots set aside (by user agent and by behaviour),
 * first/last-touch credit of conversions, and a quarantine replay — twice — counting once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldCounters, sumAfter } from '../../functions/core/campaign-counters';
import { PLAIN_EDGE } from '../../functions/core/edge/enrich';
import { type QuarantineEntry, replayEntry } from '../../functions/core/edge/replay';
import { TrackingPlans } from '../../functions/core/edge/tracking-plan';
import type { CanonicalEvent } from '../../functions/core/events';
import {
  emptyPerson,
  judgeAndApply,
  type PersonStats,
  padSequence,
  type StreamEvent,
} from '../../functions/core/person';
import { quarantinePayload } from '../../functions/core/segmentio/quarantine';
import { canonicalEvent, SHARD, sequenceNumber } from '../support/stream-records';

const stream = (events: CanonicalEvent[], from = 0): StreamEvent[] =>
  events.map((event, i) => ({ shardId: SHARD, seq: padSequence(sequenceNumber(from + i)), event }));

/** Judge a person's records, then fold what counts, as the consumer's stages 5 and 6 do. */
const apply = (stats: PersonStats, records: StreamEvent[], maxEventsPerMinute = 0) => {
  const judged = judgeAndApply(stats, records, new Date(), { bots: { maxEventsPerMinute } });
  const counted = records.flatMap((r, i) => {
    if (judged.verdicts[i] === 'duplicate') return [];
    const bot = judged.bots[i];
    return [{ ...r, event: bot ? { ...r.event, bot } : r.event, effects: judged.effects[i] ?? [] }];
  });
  return { judged, deltas: foldCounters(counted) };
};

/** A campaign's total counters from deltas. */
const totals = (deltas: ReturnType<typeof foldCounters>, campaignId: string) => {
  const d = deltas.find(
    (x) => x.target.kind === 'campaign' && x.target.campaignId === campaignId && x.target.bucket === 'total',
  );
  return d ? sumAfter(d.contributions) : undefined;
};

describe('bots in the consumer', () => {
  it("counts a user-agent bot's events in the bot counter only: not among persons, segments or experiments", () => {
    const person = emptyPerson('p-1');
    person.experiments.x1 = { variant: 'B', exposedAt: '2026-01-01T00:00:00.000Z', exposedBy: 'tag' };
    const records = stream([
      canonicalEvent({ type: 'click', personKey: 'p-1', bot: 'agent' }),
      canonicalEvent({ type: 'conversion', personKey: 'p-1', bot: 'agent' }),
    ]);
    const { judged, deltas } = apply(person, records);
    expect(judged.bots).toEqual(['agent', 'agent']);
    expect(judged.next?.counts).toEqual({});
    expect(judged.effects.flat()).toEqual([]);
    const sum = totals(deltas, 'camp-1');
    expect(sum?.counts).toEqual({ b: 2 });
    expect(sum?.persons).toEqual([]);
  });

  it('flags an id past the per-minute limit from that event on, and keeps it flagged', () => {
    const at = '2026-06-01T10:00:30.000Z';
    const events = Array.from({ length: 8 }, (_, i) =>
      canonicalEvent({ type: 'click', personKey: 'p-2', receivedAt: at, eventId: `e-${i}` }),
    );
    const first = apply(emptyPerson('p-2'), stream(events), 5);
    expect(first.judged.bots).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'behaviour',
      'behaviour',
      'behaviour',
    ]);
    expect(first.judged.next?.counts.click).toBe(5);
    expect(totals(first.deltas, 'camp-1')?.counts).toMatchObject({ n: 5, b: 3 });
    // An hour later, slow again: still a bot.
    const later = canonicalEvent({ type: 'click', personKey: 'p-2', receivedAt: '2026-06-01T11:00:00.000Z' });
    const again = apply(first.judged.next as PersonStats, stream([later], 8), 5);
    expect(again.judged.bots).toEqual(['behaviour']);
    expect(again.judged.next?.edge?.bot).toMatchObject({ since: at, events: 4 });
  });

  it('judges a redelivered record as it was judged the first time', () => {
    const at = '2026-06-01T10:00:30.000Z';
    const events = Array.from({ length: 4 }, (_, i) =>
      canonicalEvent({ personKey: 'p-3', receivedAt: at, eventId: `r-${i}` }),
    );
    const records = stream(events);
    const first = apply(emptyPerson('p-3'), records, 2);
    const redelivered = apply(first.judged.next as PersonStats, records, 2);
    expect(redelivered.judged.verdicts).toEqual(['replay', 'replay', 'replay', 'replay']);
    expect(redelivered.judged.bots).toEqual(first.judged.bots);
    expect(totals(redelivered.deltas, 'camp-1')?.counts).toEqual(totals(first.deltas, 'camp-1')?.counts);
  });

  it('never judges behaviour when the limit is 0', () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      canonicalEvent({ personKey: 'p-4', eventId: `z-${i}` }),
    );
    expect(apply(emptyPerson('p-4'), stream(events), 0).judged.bots.every((b) => b === undefined)).toBe(true);
  });
});

describe('first and last touch', () => {
  it("credits a conversion to the person's first and last touching campaigns", () => {
    const t = (m: number) => new Date(Date.UTC(2026, 5, 1, 10, m)).toISOString();
    const records = stream([
      canonicalEvent({
        type: 'view',
        personKey: 'p-5',
        campaignId: 'newsletter',
        eventTime: t(0),
        utm: { source: 'news' },
      }),
      canonicalEvent({ type: 'click', personKey: 'p-5', campaignId: 'retargeting', eventTime: t(5) }),
      canonicalEvent({
        type: 'conversion',
        personKey: 'p-5',
        campaignId: 'checkout',
        eventTime: t(9),
        data: { value: 10 },
      }),
    ]);
    const { judged, deltas } = apply(emptyPerson('p-5'), records);
    expect(judged.next?.edge).toMatchObject({
      firstTouch: { campaignId: 'newsletter', source: 'news' },
      lastTouch: { campaignId: 'retargeting' },
    });
    expect(totals(deltas, 'newsletter')?.counts).toMatchObject({ af: 1 });
    expect(totals(deltas, 'retargeting')?.counts).toMatchObject({ al: 1 });
    expect(totals(deltas, 'checkout')?.counts).toMatchObject({ n: 1, t_conversion: 1 });
    expect(totals(deltas, 'checkout')?.counts.af).toBeUndefined();
  });
});

describe('quarantine replay', () => {
  const plans = new TrackingPlans().use([
    {
      name: 'Order Placed',
      mode: 'warn',
      schema: { type: 'object', properties: { price: { type: 'number' } } },
      updatedAt: 't',
    },
  ]);
  const ctx = { horizonDays: 30, edge: { ...PLAIN_EDGE, plans } };
  const receivedAt = new Date(Date.now() - 3_600_000).toISOString();

  const segmentEntry = (message: Record<string, unknown>, sourceId?: string): QuarantineEntry => ({
    origin: 'segment:batch',
    position: `m:${String(message.messageId)}`,
    reason: 'validation_failed: properties.price must be number',
    payload: quarantinePayload(message),
    receivedAt,
    ...(sourceId && { sourceId }),
  });

  it('replaying the quarantine twice counts every event once', () => {
    const message = fc.record({
      messageId: fc.option(fc.uuid(), { nil: undefined }),
      userId: fc.constantFrom('u-1', 'u-2', 'u-3'),
      event: fc.constantFrom('Order Placed', 'Product Clicked', 'Signed Up'),
      price: fc.oneof(fc.integer(), fc.constant('free')),
      campaignId: fc.constantFrom('c-1', 'c-2'),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), (messages) => {
        const entries = messages.map((m, i) =>
          segmentEntry(
            {
              type: 'track',
              ...(m.messageId ? { messageId: m.messageId } : { messageId: `no-id-${i}` }),
              userId: m.userId,
              event: m.event,
              properties: { price: m.price, campaignId: m.campaignId, product_id: 'p' },
              timestamp: receivedAt,
              context: { consent: { token: 'never kept' } },
            },
            'src-1',
          ),
        );
        const replay = () =>
          entries.flatMap((e) => {
            const v = replayEntry(e, ctx);
            return v.ok && 'accepted' in v ? [v.accepted.event] : [];
          });
        const once = replay();
        const twice = replay();
        expect(twice.map((e) => e.eventId)).toEqual(once.map((e) => e.eventId));
        // Both replays through the consumer's fold, in stream order, one person at a time.
        const all = stream([...once, ...twice]);
        const byPerson = new Map<string, StreamEvent[]>();
        for (const r of all) byPerson.set(r.event.personKey, [...(byPerson.get(r.event.personKey) ?? []), r]);
        let counted = 0;
        for (const [key, records] of byPerson) {
          const { judged } = apply(emptyPerson(key), records);
          counted += judged.verdicts.filter((v) => v === 'new').length;
        }
        expect(counted).toBe(new Set(once.map((e) => e.eventId)).size);
      }),
      { numRuns: 100 },
    );
  });

  it('reports what still fails, and why', () => {
    const blocked = new TrackingPlans().use([
      {
        name: 'Order Placed',
        mode: 'block',
        schema: { properties: { price: { type: 'number' } } },
        updatedAt: 't',
      },
    ]);
    const message = {
      type: 'track',
      messageId: 'm-9',
      userId: 'u',
      event: 'Order Placed',
      properties: { price: 'x' },
      timestamp: receivedAt,
    };
    const verdict = replayEntry(segmentEntry(message, 'src-1'), {
      ...ctx,
      edge: { ...PLAIN_EDGE, plans: blocked },
    });
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringContaining('properties.price') });
    expect(replayEntry(segmentEntry(message), ctx)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no source'),
    });
    const poison: QuarantineEntry = {
      origin: `stream:${SHARD}`,
      position: '1',
      reason: 'unsupported envelope version 9',
      payload: Buffer.from(JSON.stringify({ ...canonicalEvent(), v: 9 })).toString('base64'),
      receivedAt,
    };
    expect(replayEntry(poison, ctx)).toMatchObject({ ok: false, reason: 'unsupported envelope version 9' });
    const healed = {
      ...poison,
      payload: Buffer.from(JSON.stringify(canonicalEvent({ eventId: 'kept-id' }))).toString('base64'),
    };
    expect(replayEntry(healed, ctx)).toMatchObject({ ok: true, accepted: { event: { eventId: 'kept-id' } } });
  });
});
