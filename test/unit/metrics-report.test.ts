import { describe, expect, it } from 'vitest';
import { campaignReport, metricsQuerySchema } from '../../functions/core/metrics-report';
import { localDate, quarterOf, quartersBetween } from '../../functions/core/time-buckets';
import { personHash } from '../../functions/core/uniques';
import { parseWith } from '../../functions/core/zod';

const row = (quarter: string, counts: Record<string, number>, persons: string[]) => ({
  quarter,
  counts,
  uniques: { exact: persons.map((p) => personHash(p)) },
});

const query = (q: Record<string, string>) => {
  const r = parseWith(metricsQuerySchema, q);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};

describe('time buckets', () => {
  it('puts instants in UTC quarter-hours', () => {
    expect(quarterOf('2026-06-01T10:14:59.999Z')).toBe('2026-06-01T10:00');
    expect(quarterOf('2026-06-01T10:15:00.000Z')).toBe('2026-06-01T10:15');
    expect(quartersBetween(Date.parse('2026-06-01T10:10:00Z'), Date.parse('2026-06-01T10:50:00Z'))).toEqual([
      '2026-06-01T10:00',
      '2026-06-01T10:15',
      '2026-06-01T10:30',
      '2026-06-01T10:45',
    ]);
    expect(localDate(Date.parse('2026-06-01T18:30:00Z'), 'Asia/Kolkata')).toBe('2026-06-02');
    expect(localDate(Date.parse('2026-06-01T18:15:00Z'), 'Asia/Kolkata')).toBe('2026-06-01');
  });
});

describe('campaign report', () => {
  const rows = [
    row('2026-06-01T18:15', { n: 2, t_click: 2, d_mobile: 2, c_ios: 1, c_none: 1 }, ['a', 'b']),
    row('2026-06-01T18:30', { n: 3, t_view: 3, d_desktop: 3, c_web: 3 }, ['b', 'c']),
    row('2026-06-01T19:00', { n: 1, 't_video-play': 1, d_tv: 1, c_web: 1 }, ['a']),
  ];

  it('sums totals, splits and exact distinct persons over the range', () => {
    const r = campaignReport(
      'c',
      query({ from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z', granularity: 'hour' }),
      rows,
    );
    expect(r.totals).toEqual({ click: 2, view: 3, share: 0, 'video-play': 1, conversion: 0, custom: 0 });
    expect(r.byDeviceType).toEqual({ mobile: 2, desktop: 3, tv: 1 });
    expect(r.byChannel).toEqual({ ios: 1, unknown: 1, web: 4 });
    expect(r.uniqueUsers).toBe(3);
    expect(r).not.toHaveProperty('uniqueUsersEstimated');
    expect(r.series).toHaveLength(24);
    expect(r.series[18]).toEqual({
      start: '2026-06-01T18:00:00Z',
      counts: expect.objectContaining({ click: 2, view: 3 }),
      // a, b at 18:15 and b, c at 18:30: b once.
      uniqueUsers: 3,
    });
    expect(r.series[19]?.counts['video-play']).toBe(1);
    expect(r.series[19]?.uniqueUsers).toBe(1);
    expect(r.series[0]?.uniqueUsers).toBe(0);
    // 2 clicks on 3 views; no conversions yet: 0 per click, 0 per person.
    expect(r.rates).toEqual({ clickThrough: 0.6667, conversion: 0, conversionsPerPerson: 0 });
  });

  it('has no rate where nothing was measured to divide by', () => {
    const r = campaignReport('c', query({ from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' }), [
      row('2026-06-01T18:15', { n: 1, t_conversion: 1, r_EUR: 12.5 }, ['a']),
    ]);
    expect(r.rates).toEqual({ clickThrough: null, conversion: null, conversionsPerPerson: 1 });
    expect(r.conversionValue).toEqual({ EUR: 12.5 });
  });

  it('makes local days in a half-hour zone exactly from quarters', () => {
    const r = campaignReport(
      'c',
      query({ from: '2026-06-01T00:00:00+05:30', to: '2026-06-03T00:00:00+05:30', tz: 'Asia/Kolkata' }),
      rows,
    );
    expect(r.series.map((s) => s.start)).toEqual(['2026-06-01T00:00:00+05:30', '2026-06-02T00:00:00+05:30']);
    // 18:15Z is 23:45 on June 1 in India; 18:30Z is already June 2.
    expect(r.series[0]?.counts.click).toBe(2);
    expect(r.series[1]?.counts.view).toBe(3);
    expect(r.series[1]?.counts['video-play']).toBe(1);
  });

  it('makes local hours in +5:30 and +5:45 zones, starting at :30 and :45 UTC', () => {
    const clicks = (quarter: string, n: number) => row(quarter, { n, t_click: n }, []);
    const quarters = [
      clicks('2026-06-01T04:15', 1),
      clicks('2026-06-01T04:30', 2),
      clicks('2026-06-01T05:15', 4),
    ];
    const india = campaignReport(
      'c',
      query({
        from: '2026-06-01T09:00:00+05:30',
        to: '2026-06-01T11:00:00+05:30',
        granularity: 'hour',
        tz: 'Asia/Kolkata',
      }),
      quarters,
    );
    // 04:15Z is 09:45 in India (the 09:00 hour); 04:30Z and 05:15Z are 10:00 and 10:45 (the 10:00 hour).
    expect(india.series.map((s) => [s.start, s.counts.click])).toEqual([
      ['2026-06-01T09:00:00+05:30', 1],
      ['2026-06-01T10:00:00+05:30', 6],
    ]);
    const nepal = campaignReport(
      'c',
      query({
        from: '2026-06-01T09:00:00+05:45',
        to: '2026-06-01T11:00:00+05:45',
        granularity: 'hour',
        tz: 'Asia/Kathmandu',
      }),
      quarters,
    );
    // In Nepal 04:15Z is 10:00 and 04:30Z 10:15: the 09:00 hour holds nothing; 05:15Z is 11:00,
    // past the range.
    expect(nepal.series.map((s) => [s.start, s.counts.click])).toEqual([
      ['2026-06-01T09:00:00+05:45', 0],
      ['2026-06-01T10:00:00+05:45', 3],
    ]);
  });

  it('reads date-only from and to as local dates in tz', () => {
    const r = campaignReport('c', query({ from: '2026-06-01', to: '2026-06-03', tz: 'Asia/Kolkata' }), rows);
    expect([r.from, r.to]).toEqual(['2026-05-31T18:30:00.000Z', '2026-06-02T18:30:00.000Z']);
    expect(r.series.map((s) => s.start)).toEqual(['2026-06-01T00:00:00+05:30', '2026-06-02T00:00:00+05:30']);
    const utc = campaignReport('c', query({ from: '2026-06-01', to: '2026-06-02' }), rows);
    expect([utc.from, utc.to]).toEqual(['2026-06-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z']);
  });

  it('counts only the quarters inside the range', () => {
    const r = campaignReport(
      'c',
      query({ from: '2026-06-01T18:30:00Z', to: '2026-06-01T19:00:00Z', granularity: 'hour' }),
      rows,
    );
    expect(r.totals.view).toBe(3);
    expect(r.totals.click).toBe(0);
    expect(r.uniqueUsers).toBe(2);
  });

  it('rejects bad ranges and zones, naming the parameter', () => {
    for (const [q, path] of [
      [{ from: '2026-06-02T00:00:00Z', to: '2026-06-01T00:00:00Z' }, 'from'],
      [{ from: '2026-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z', granularity: 'hour' }, 'to'],
      [{ tz: 'Mars/Olympus' }, 'tz'],
      [{ granularity: 'week' }, 'granularity'],
      [{ from: 'yesterday' }, 'from'],
    ] as const) {
      const r = parseWith(metricsQuerySchema, q);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(path);
    }
  });
});
