/**
 * Day rollups of campaign counters: one item per campaign and closed UTC day, summed over every
 * shard by a scheduled compaction (functions/metrics/compact.ts), so a report over a year at day
 * granularity reads about one item per day, whatever the shard count, instead of every
 * quarter-hour row of every shard. Pure.
 *
 * Why compaction of closed days, not day rows the consumer ADDs to: a day row summed over shards
 * would have one writer per shard (the hot key the per-shard counters exist to avoid), and the
 * distinct-person set turns into a sketch past its cap, which no ADD can merge; a day row per shard
 * still grows reads with the shard count. Compaction reads a closed day once, off the write path.
 *
 * A rollup keeps the day's counters per quarter-hour (only quarters with counts), so local days of
 * any zone and ranges that start mid-day stay exact sums, and the day's distinct persons (the exact
 * union of the quarters' sets up to EXACT_CAP, else a sketch merged from every quarter's). Distinct
 * persons over a range use the rollups of its whole UTC days and the raw rows of its partial ones:
 * exact when every day is exact, else an HLL estimate that says so (`uniqueUsersEstimated`).
 *
 * Exact under late events: the consumer marks a write to a day that ended LATE_MARK_MS ago
 * (`late` + 1 on the rollup item, after the write, on every redelivery too); compaction reads
 * `late` before the raw rows and stores it as `folded`. A rollup is used only while
 * `late == folded`; otherwise its day is read raw until compaction folds it again.
 */
import { addCounters } from './aggregates';
import type { QuarterData } from './metrics-report';
import { type BucketUniques, unionUniques } from './uniques';

const DAY_MS = 86_400_000;
/** The consumer marks writes to days that ended at least this long ago (by its clock). */
export const LATE_MARK_MS = 60 * 60_000;
/** Compaction takes days that ended at least this long ago: past the mark, with room for skew. */
export const SETTLE_MS = 2 * LATE_MARK_MS;

export interface DayRollup {
  day: string;
  /** Counters per quarter of the day, by `HH:mm`; quarters without counts are left out. */
  quarters: Record<string, Record<string, number>>;
  uniques: BucketUniques;
}

export const dayOfQuarter = (quarter: string): string => quarter.slice(0, 10);
const dayStartMs = (day: string) => Date.parse(`${day}T00:00:00.000Z`);
const dayAt = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const nextDay = (day: string): string => dayAt(dayStartMs(day) + DAY_MS);
const previousDay = (day: string): string => dayAt(dayStartMs(day) - DAY_MS);

/** Does a write to this quarter reach a day compaction may already have rolled up? */
export const isLateForRollup = (quarter: string, nowMs: number): boolean =>
  dayStartMs(dayOfQuarter(quarter)) + DAY_MS <= nowMs - LATE_MARK_MS;

/** The last UTC day compaction may roll up at `nowMs`. */
export const lastSettledDay = (nowMs: number): string => dayAt(nowMs - SETTLE_MS - DAY_MS);

/** Every day from `from` to `to`, both included. */
export const daysBetween = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let d = from; d <= to; d = nextDay(d)) out.push(d);
  return out;
};

/** One day's raw rows (every shard's quarters) as its rollup. */
export const rollUpDay = (day: string, rows: readonly QuarterData[]): DayRollup => {
  const quarters: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    if (Object.keys(r.counts).length === 0) continue;
    const hhmm = r.quarter.slice(11);
    quarters[hhmm] ??= {};
    addCounters(quarters[hhmm], r.counts);
  }
  return { day, quarters, uniques: unionUniques(rows.map((r) => r.uniques)) };
};

/** A rollup as report rows: its quarters' counters, and its distinct persons once. */
export const rollupRows = (r: DayRollup): QuarterData[] => [
  { quarter: `${r.day}T00:00`, counts: {}, uniques: r.uniques, wholeDay: true },
  ...Object.entries(r.quarters).map(([hhmm, counts]) => ({
    quarter: `${r.day}T${hhmm}`,
    counts,
    uniques: { exact: [] },
  })),
];

/** What the store says of a day: a rollup in use, a stale one (late writes), or nothing. */
export type StoredDay = { state: 'clean'; rollup: DayRollup } | { state: 'stale' };

/**
 * Which days of [fromQuarter, toQuarter] come from rollups and which quarter ranges are read raw:
 * a whole UTC day with a clean rollup, or none at all while compaction has passed it (an empty
 * day), comes from its rollup; partial days at the ends and days not rolled up yet are read raw.
 */
export const planDayRead = (
  fromQuarter: string,
  toQuarter: string,
  stored: ReadonlyMap<string, StoredDay>,
  compactedThrough: string | undefined,
): { rollups: DayRollup[]; raw: [string, string][] } => {
  const rollups: DayRollup[] = [];
  const raw: [string, string][] = [];
  for (const day of daysBetween(dayOfQuarter(fromQuarter), dayOfQuarter(toQuarter))) {
    const first = `${day}T00:00`;
    const last = `${day}T23:45`;
    const whole = first >= fromQuarter && last <= toQuarter;
    const s = stored.get(day);
    if (whole && s?.state === 'clean') {
      rollups.push(s.rollup);
      continue;
    }
    if (whole && s === undefined && compactedThrough !== undefined && day <= compactedThrough) continue;
    const from = first < fromQuarter ? fromQuarter : first;
    const to = last > toQuarter ? toQuarter : last;
    const open = raw[raw.length - 1];
    // Consecutive raw days are one range (one Query per shard).
    if (open && dayOfQuarter(open[1]) === previousDay(day) && open[1].endsWith('23:45')) open[1] = to;
    else raw.push([from, to]);
  }
  return { rollups, raw };
};
