import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DayRollup,
  dayOfQuarter,
  isLateForRollup,
  lastSettledDay,
  planDayRead,
  rollUpDay,
  rollupRows,
  type StoredDay,
} from '../../functions/core/day-rollups';
import {
  campaignReport,
  metricsQuerySchema,
  type QuarterData,
  resolveRange,
} from '../../functions/core/metrics-report';
import { EXACT_CAP, personHash, unionUniques } from '../../functions/core/uniques';

const START = Date.parse('2026-03-01T00:00:00Z');
const quarterAt = (ms: number) => new Date(ms).toISOString().slice(0, 16);

/** Raw rows: a few quarters over ten days, as several shards would leave them. */
const rowsArb = fc.array(
  fc.record({
    q: fc.integer({ min: 0, max: 10 * 96 - 1 }),
    n: fc.integer({ min: 1, max: 5 }),
    person: fc.integer({ min: 0, max: 30 }),
    type: fc.constantFrom('t_view', 't_click'),
  }),
  { maxLength: 80 },
);
const toRows = (raw: { q: number; n: number; person: number; type: string }[]): QuarterData[] =>
  raw.map((r) => ({
    quarter: quarterAt(START + r.q * 15 * 60_000),
    counts: { n: r.n, [r.type]: r.n },
    uniques: { exact: [personHash(`p${r.person}`)] },
  }));

/** What a report reads with rollups: the plan over stored rollups, then raw rows for the rest. */
const readWithRollups = (
  rows: QuarterData[],
  fromQuarter: string,
  toQuarter: string,
  rolled: (day: string) => boolean,
) => {
  const byDay = new Map<string, QuarterData[]>();
  for (const r of rows)
    byDay.set(dayOfQuarter(r.quarter), [...(byDay.get(dayOfQuarter(r.quarter)) ?? []), r]);
  const stored = new Map<string, StoredDay>();
  for (const [day, dayRows] of byDay)
    stored.set(day, rolled(day) ? { state: 'clean', rollup: rollUpDay(day, dayRows) } : { state: 'stale' });
  const plan = planDayRead(fromQuarter, toQuarter, stored, '2026-03-10');
  const raw = rows.filter((r) => plan.raw.some(([f, t]) => r.quarter >= f && r.quarter <= t));
  return [...plan.rollups.flatMap(rollupRows), ...raw];
};

describe('day rollups', () => {
  it('give the report the raw rows give, in any zone and range, whatever is rolled up (a series bucket’s persons: exact or flagged)', () => {
    fc.assert(
      fc.property(
        rowsArb,
        fc.integer({ min: 0, max: 4 * 24 }),
        fc.integer({ min: 1, max: 5 * 24 }),
        fc.constantFrom('UTC', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham'),
        fc.func(fc.boolean()),
        (raw, fromHour, hours, tz, rolled) => {
          const rows = toRows(raw);
          const from = new Date(START + fromHour * 3_600_000).toISOString();
          const to = new Date(START + (fromHour + hours) * 3_600_000).toISOString();
          const query = metricsQuerySchema.parse({ from, to, granularity: 'day', tz });
          const { fromQuarter, toQuarter } = resolveRange(query);
          const read = readWithRollups(rows, fromQuarter, toQuarter, (d) => rolled(d));
          const { series: rolledSeries, ...fromRollups } = campaignReport('c', query, read, 0);
          const { series: exact, ...fromRaw } = campaignReport('c', query, rows, 0);
          expect(fromRollups).toEqual(fromRaw);
          // Counts per bucket are exact; a bucket's persons are exact in UTC, else exact or flagged.
          const strip = <B extends { uniqueUsers: number; uniqueUsersEstimated?: boolean }>(b: B) => {
            const { uniqueUsers: _u, uniqueUsersEstimated: _e, ...rest } = b;
            return rest;
          };
          expect(rolledSeries.map(strip)).toEqual(exact.map(strip));
          rolledSeries.forEach((b, i) => {
            const truth = exact[i] as (typeof exact)[number];
            if (tz === 'UTC' || b.uniqueUsers !== truth.uniqueUsers) {
              if (tz === 'UTC') expect(b.uniqueUsers).toBe(truth.uniqueUsers);
              else expect(b.uniqueUsersEstimated).toBe(true);
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads rollups for whole days, raw rows for the partial ends and days not rolled up', () => {
    const rollup = (day: string): StoredDay => ({
      state: 'clean',
      rollup: { day, quarters: {}, uniques: { exact: [] } },
    });
    const stored = new Map<string, StoredDay>([
      ['2026-03-01', rollup('2026-03-01')],
      ['2026-03-02', rollup('2026-03-02')],
      ['2026-03-03', { state: 'stale' }],
      ['2026-03-04', rollup('2026-03-04')],
    ]);
    const plan = planDayRead('2026-02-28T18:30', '2026-03-06T18:15', stored, '2026-03-04');
    expect(plan.rollups.map((r: DayRollup) => r.day)).toEqual(['2026-03-01', '2026-03-02', '2026-03-04']);
    // 2026-03-05 is past compaction with no rollup: read raw, as is the stale 2026-03-03.
    expect(plan.raw).toEqual([
      ['2026-02-28T18:30', '2026-02-28T23:45'],
      ['2026-03-03T00:00', '2026-03-03T23:45'],
      ['2026-03-05T00:00', '2026-03-06T18:15'],
    ]);
    // A whole day compaction passed that has no item had no counts.
    expect(planDayRead('2026-03-03T00:00', '2026-03-03T23:45', new Map(), '2026-03-04').raw).toEqual([]);
  });

  it('marks writes to a day closed an hour ago, and compacts days closed two hours ago', () => {
    const now = Date.parse('2026-03-10T01:30:00Z');
    expect(isLateForRollup('2026-03-09T23:45', now)).toBe(true);
    expect(isLateForRollup('2026-03-10T00:00', now)).toBe(false);
    expect(isLateForRollup('2026-03-09T23:45', Date.parse('2026-03-10T00:59:00Z'))).toBe(false);
    expect(lastSettledDay(now)).toBe('2026-03-08');
    expect(lastSettledDay(Date.parse('2026-03-10T02:00:00Z'))).toBe('2026-03-09');
  });

  it('keeps a day’s persons exact up to the cap, then as the sketch of every quarter', () => {
    const persons = (from: number, n: number) => ({
      exact: Array.from({ length: n }, (_, i) => personHash(`u${from + i}`)),
    });
    const small = unionUniques([persons(0, 400), persons(200, 400)]);
    expect('exact' in small && small.exact.length).toBe(600);
    const large = unionUniques([persons(0, EXACT_CAP), persons(EXACT_CAP, 5)]);
    expect('sketch' in large).toBe(true);
  });
});
