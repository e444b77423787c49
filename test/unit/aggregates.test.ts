import { describe, expect, it } from 'vitest';
import {
  addCounters,
  campaignAggregates,
  campaignBreakdowns,
  campaignContribution,
  counterAttributes,
  seriesBreakdowns,
} from '../../functions/core/aggregates';
import { foldCounters, sumAfter } from '../../functions/core/campaign-counters';
import type { CanonicalEvent } from '../../functions/core/events';

const event = (over: Partial<CanonicalEvent>): CanonicalEvent => ({
  v: 1,
  eventId: 'e',
  type: 'click',
  personKey: 'p1',
  campaignId: 'spring',
  deviceType: 'mobile',
  data: {},
  properties: {},
  timestamp: '2026-06-01T10:07:00.000Z',
  receivedAt: '2026-06-01T10:07:00.000Z',
  eventTime: '2026-06-01T10:07:00.000Z',
  sourceId: 's',
  door: 'api',
  ...over,
});

describe('declared campaign aggregates', () => {
  it('give every declared aggregate a counter for an event, under its own prefix', () => {
    const prefixes = Object.values(campaignAggregates).map((a) => a.prefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    expect(
      campaignContribution(
        event({ type: 'conversion', channel: 'ios', data: { value: 19.99, currency: 'EUR' } }),
      ),
    ).toEqual({ n: 1, t_conversion: 1, d_mobile: 1, c_ios: 1, r_EUR: 19.99 });
    // Not a conversion with a value: no money counter.
    expect(campaignContribution(event({}))).toEqual({ n: 1, t_click: 1, d_mobile: 1, c_none: 1 });
  });

  it('fold, store and report conversion value per currency exactly, through float noise', () => {
    const events = [
      ...Array.from({ length: 10 }, (_, i) =>
        event({ eventId: `a${i}`, type: 'conversion', data: { value: 0.1, currency: 'EUR' } }),
      ),
      event({ eventId: 'b', type: 'conversion', data: { value: 5 } }),
      event({ eventId: 'c', type: 'view', channel: 'web' }),
    ];
    const records = events.map((e, i) => ({ seq: String(i + 1).padStart(64, '0'), event: e }));
    const total = foldCounters(records).find(
      (d) => d.target.kind === 'campaign' && d.target.bucket === 'total',
    );
    const summed = sumAfter(total?.contributions ?? []);
    const report = campaignBreakdowns(summed?.counts ?? {});
    expect(report.events).toBe(12);
    expect(report.conversionValue).toEqual({ EUR: 1, XXX: 5 });
    expect(report.totals).toEqual({
      click: 0,
      view: 1,
      share: 0,
      'video-play': 0,
      conversion: 11,
      custom: 0,
    });
    expect(report.byChannel).toEqual({ unknown: 11, web: 1 });
    expect(seriesBreakdowns(summed?.counts ?? {}).counts).toEqual(report.totals);
  });

  it('read back only counter attributes from an item, and sum over items', () => {
    const item = {
      pk: 'c#x#s',
      sk: 'total',
      cp: '0001',
      n: 3,
      t_click: 3,
      r_EUR: 1.5,
      uu: new Set(),
      ver: 2,
    };
    expect(counterAttributes(item)).toEqual({ n: 3, t_click: 3, r_EUR: 1.5 });
    const sum: Record<string, number> = {};
    addCounters(sum, counterAttributes(item));
    addCounters(sum, { n: 1, r_EUR: 0.2 });
    expect(sum).toEqual({ n: 4, t_click: 3, r_EUR: 1.7 });
  });
});
