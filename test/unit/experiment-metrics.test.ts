import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldCounters, sumAfter } from '../../functions/core/campaign-counters';
import type { CanonicalEvent } from '../../functions/core/events';
import { allMetrics, type Metric, metricSchema } from '../../functions/core/experiment-design';
import { metricAttribute, momentsFromCounters } from '../../functions/core/experiment-metrics';
import { experimentViewed } from '../../functions/core/experiment-viewed';
import { exposureEventId } from '../../functions/core/experiments';
import { emptyPerson, judgeAndApply, padSequence, type StreamEvent } from '../../functions/core/person';
import { canonicalEvent, SHARD, sequenceNumber } from '../support/stream-records';

const metrics: Metric[] = [
  metricSchema.parse({ id: 'clicks', kind: 'count', event: { type: 'click' } }),
  metricSchema.parse({ id: 'revenue', kind: 'value', event: { type: 'conversion' }, currency: 'EUR' }),
  metricSchema.parse({ id: 'bought', kind: 'conversion', event: { type: 'conversion' } }),
  metricSchema.parse({
    id: 'aov',
    kind: 'ratio',
    event: { type: 'conversion' },
    currency: 'EUR',
    denominator: { event: { type: 'conversion' }, measure: 'count' },
  }),
];
const byExperiment = new Map([['x1', metrics]]);

const at = (iso: string) => ({ timestamp: iso, receivedAt: iso, eventTime: iso });
let seq = 0;
const record = (event: CanonicalEvent): StreamEvent => ({
  shardId: SHARD,
  seq: padSequence(sequenceNumber(++seq)),
  event,
});
const exposure = (personKey: string, iso: string) =>
  canonicalEvent({
    type: 'exposure',
    personKey,
    userId: personKey,
    eventId: exposureEventId('x1', personKey),
    experimentId: 'x1',
    variant: 'B',
    data: {},
    campaignId: undefined,
    ...at(iso),
  });
const click = (personKey: string, iso: string) =>
  canonicalEvent({ type: 'click', personKey, userId: personKey, data: {}, ...at(iso) });
const order = (personKey: string, iso: string, value: number, currency = 'EUR') =>
  canonicalEvent({ type: 'conversion', personKey, userId: personKey, data: { value, currency }, ...at(iso) });

/** Counter fields of effects, summed the way the counter items sum them. */
const counters = (records: StreamEvent[], effects: { kind: string; fields?: Record<string, number> }[][]) => {
  const deltas = foldCounters(
    records.map((r, i) => ({ seq: r.seq, event: r.event, effects: effects[i] as never })),
  ).filter((d) => d.target.kind === 'experiment');
  const out: Record<string, number> = {};
  for (const d of deltas)
    for (const [k, v] of Object.entries(sumAfter(d.contributions)?.counts ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
};

describe('per-person experiment metrics in the consumer', () => {
  it('records the covariate at exposure and folds every metric (worked by hand)', () => {
    const person = emptyPerson('p1');
    // Three clicks and one order on days before the exposure day, one click on it.
    person.days = {
      '2026-11-20': { click: 2, conversion: 1 },
      '2026-11-27': { click: 1 },
      '2026-11-28': { click: 5 },
    };
    const records = [
      record(exposure('p1', '2026-11-28T10:00:00.000Z')),
      record(click('p1', '2026-11-28T11:00:00.000Z')),
      record(click('p1', '2026-11-28T12:00:00.000Z')),
      record(order('p1', '2026-11-28T13:00:00.000Z', 10)),
      record(order('p1', '2026-11-28T14:00:00.000Z', 5)),
      record(order('p1', '2026-11-28T15:00:00.000Z', 7, 'USD')),
    ];
    const judged = judgeAndApply(person, records, new Date('2026-11-28T16:00:00Z'), {
      metrics: byExperiment,
    });
    const c = counters(records, judged.effects);
    // Covariates: clicks before the exposure day: 2 + 1 = 3; conversions: 1.
    expect(c[metricAttribute('clicks', 'x')]).toBe(3);
    expect(c[metricAttribute('clicks', 'xx')]).toBe(9);
    expect(c[metricAttribute('revenue', 'x')]).toBe(1);
    expect(c.exposures).toBe(1);
    // clicks: y = 2 → Σy 2, Σy² 4, Σxy 6.
    expect(c[metricAttribute('clicks', 's')]).toBe(2);
    expect(c[metricAttribute('clicks', 'q')]).toBe(4);
    expect(c[metricAttribute('clicks', 'xy')]).toBe(6);
    // revenue (EUR only): 15 → 225.
    expect(c[metricAttribute('revenue', 's')]).toBe(15);
    expect(c[metricAttribute('revenue', 'q')]).toBe(225);
    // bought: converts once.
    expect(c[metricAttribute('bought', 's')]).toBe(1);
    expect(c[metricAttribute('bought', 'q')]).toBe(1);
    // aov: y = 15 EUR over z = 3 orders: Σz 3, Σz² 9, Σyz 45.
    expect(c[metricAttribute('aov', 'z')]).toBe(3);
    expect(c[metricAttribute('aov', 'zz')]).toBe(9);
    expect(c[metricAttribute('aov', 'yz')]).toBe(45);
    expect(judged.next?.experiments.x1?.values?.clicks).toEqual({ y: 2 });
  });

  it('adds up to the moments of the final per-person values, whatever the events (property)', () => {
    const persons = ['a', 'b', 'c'];
    const eventArb = fc.record({
      person: fc.constantFrom(...persons),
      kind: fc.constantFrom('click', 'order', 'usd'),
      value: fc.integer({ min: 1, max: 500 }).map((v) => v / 10),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 30 }), (events) => {
        const all: StreamEvent[] = [];
        const effects: ReturnType<typeof judgeAndApply>['effects'] = [];
        const finals: { y: Record<string, number>; z: number }[] = [];
        for (const p of persons) {
          const mine = [
            record(exposure(p, '2026-11-28T10:00:00.000Z')),
            ...events
              .filter((e) => e.person === p)
              .map((e) =>
                record(
                  e.kind === 'click'
                    ? click(p, '2026-11-28T11:00:00.000Z')
                    : order(p, '2026-11-28T11:00:00.000Z', e.value, e.kind === 'usd' ? 'USD' : 'EUR'),
                ),
              ),
          ];
          const judged = judgeAndApply(emptyPerson(p), mine, new Date('2026-11-28T12:00:00Z'), {
            metrics: byExperiment,
          });
          all.push(...mine);
          effects.push(...judged.effects);
          const values = judged.next?.experiments.x1?.values ?? {};
          finals.push({
            y: Object.fromEntries(metrics.map((m) => [m.id, values[m.id]?.y ?? 0])),
            z: values.aov?.z ?? 0,
          });
        }
        const c = counters(all, effects);
        for (const m of metrics) {
          const moments = momentsFromCounters(m, persons.length, c, false);
          const ys = finals.map((f) => f.y[m.id] as number);
          expect(moments.sum).toBeCloseTo(
            ys.reduce((s, y) => s + y, 0),
            6,
          );
          expect(moments.sumSq).toBeCloseTo(
            ys.reduce((s, y) => s + y * y, 0),
            4,
          );
          if (m.kind === 'ratio') {
            expect(moments.zSum).toBeCloseTo(
              finals.reduce((s, f) => s + f.z, 0),
              6,
            );
            expect(moments.yzSum).toBeCloseTo(
              finals.reduce((s, f) => s + (f.y[m.id] as number) * f.z, 0),
              4,
            );
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('re-derives a redelivered record’s metric fields, and forgets them once a batch starts past it', () => {
    const records = [
      record(exposure('p2', '2026-11-28T10:00:00.000Z')),
      record(order('p2', '2026-11-28T11:00:00.000Z', 20)),
    ];
    const now = new Date('2026-11-28T12:00:00Z');
    const first = judgeAndApply(emptyPerson('p2'), records, now, { metrics: byExperiment });
    const stored = first.next as NonNullable<typeof first.next>;
    // The counters failed: the same records again are replays with the same effects.
    const again = judgeAndApply(stored, records, now, { metrics: byExperiment });
    expect(again.verdicts).toEqual(['replay', 'replay']);
    expect(again.effects).toEqual(first.effects);
    // A later batch: the log entries before it are dropped.
    const later = judgeAndApply(stored, [record(click('p2', '2026-11-28T11:30:00.000Z'))], now, {
      metrics: byExperiment,
    });
    expect(later.next?.experiments.x1?.log?.map((e) => e.fields[metricAttribute('clicks', 's')])).toEqual([
      1,
    ]);
  });

  it('counts nothing before the exposure and nothing for experiments without metrics', () => {
    const records = [
      record(click('p3', '2026-11-28T09:00:00.000Z')),
      record(exposure('p3', '2026-11-28T10:00:00.000Z')),
      record(click('p3', '2026-11-28T08:00:00.000Z')),
    ];
    const judged = judgeAndApply(emptyPerson('p3'), records, new Date('2026-11-28T12:00:00Z'), {
      metrics: byExperiment,
    });
    expect(counters(records, judged.effects)[metricAttribute('clicks', 's')]).toBeUndefined();
    const none = judgeAndApply(
      emptyPerson('p4'),
      [record(exposure('p4', '2026-11-28T10:00:00.000Z'))],
      new Date(),
    );
    expect(none.effects).toEqual([[{ kind: 'exposure', experimentId: 'x1', variant: 'B' }]]);
  });

  it('measures the goal as the default primary metric', () => {
    expect(allMetrics({ goal: { type: 'click' } })).toEqual([
      { id: 'goal', kind: 'conversion', event: { type: 'click' } },
    ]);
  });
});

describe('"Experiment Viewed" as an exposure', () => {
  const viewed = (properties: Record<string, unknown>, overrides: Partial<CanonicalEvent> = {}) =>
    canonicalEvent({
      type: 'custom',
      personKey: 'u-9',
      userId: 'u-9',
      data: { name: 'Experiment Viewed' },
      properties,
      ...overrides,
    });

  it('becomes the same exposure a promotion call logs', () => {
    const event = experimentViewed(viewed({ experimentId: 'spring', variationId: 'discount' }));
    expect(event).toMatchObject({
      type: 'exposure',
      eventId: exposureEventId('spring', 'u-9'),
      experimentId: 'spring',
      variant: 'discount',
      personKey: 'u-9',
      properties: {},
    });
    expect(event?.campaignId).toBeUndefined();
    expect(
      experimentViewed(
        viewed({ experiment_id: 'spring', variation_id: '1' }, { data: { name: 'experiment_viewed' } }),
      ),
    ).toMatchObject({ experimentId: 'spring', variant: '1' });
  });

  it('leaves other events and unusable ids alone', () => {
    expect(experimentViewed(viewed({ experimentId: 'spring' }))).toBeUndefined();
    expect(experimentViewed(viewed({ experimentId: 'has space', variationId: 'a' }))).toBeUndefined();
    expect(
      experimentViewed(viewed({ experimentId: 'a', variationId: 'b' }, { data: { name: 'Other' } })),
    ).toBeUndefined();
    expect(
      experimentViewed(viewed({ experimentId: 'a', variationId: 'b' }, { type: 'click' })),
    ).toBeUndefined();
  });
});
