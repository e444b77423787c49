/**
 * Campaign metrics from quarter-hour rows: totals, distinct persons, device and channel
 * splits, and a dense series of hour or day buckets, local to `tz`. Pure.
 */
import * as z from 'zod/mini';
import { addCounters, campaignBreakdowns, seriesBreakdowns } from './aggregates';
import {
  bucketOfQuarter,
  isTimeZone,
  localBucketStart,
  localBucketStartMs,
  quarterOf,
  quartersBetween,
} from './time-buckets';
import { type BucketUniques, countUniques } from './uniques';
import './zod';

export const MAX_RANGE_DAYS = { hour: 31, day: 400 } as const;

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;

const isoTime = z
  .string()
  .check(
    z.refine(
      (s: string) =>
        /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:?\d\d))?$/i.test(s) && !Number.isNaN(Date.parse(s)),
      'Expected an ISO-8601 time, e.g. 2026-06-01T00:00:00Z',
    ),
  );

/**
 * `from` and `to` as instants: a date-time as written (its offset says where), a date alone as
 * the start of that local day in `tz` (`from=2026-06-01&tz=Asia/Kolkata` is 2026-05-31T18:30Z).
 * `to` is exclusive; without one, now; without `from`, seven days before `to`.
 */
const instants = (q: { from?: string; to?: string; tz: string }, now: number) => {
  const instant = (v: string) => (DATE_ONLY.test(v) ? localBucketStartMs(v, q.tz) : Date.parse(v));
  const to = q.to ? instant(q.to) : now;
  const from = q.from ? instant(q.from) : to - 7 * 86_400_000;
  return { from, to };
};

/** Each query parameter as the OpenAPI document describes it (the time-zone rules included). */
const described = <T extends z.ZodMiniType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

export const timeZoneParam = described(
  z._default(z.string().check(z.refine(isTimeZone, 'Unknown IANA time zone')), 'UTC'),
  'IANA time zone (e.g. `Europe/Paris`, `Asia/Kolkata`) of day buckets and of date-only `from`/`to`; default `UTC`',
);

export const metricsQuerySchema = z
  .object({
    from: described(
      z.optional(isoTime),
      'Start, inclusive: ISO-8601 date-time with an offset (`2026-06-01T00:00:00Z`), or a date alone ' +
        "(`2026-06-01`: that day's midnight in `tz`). Default: 7 days before `to`. Served in whole UTC quarter-hours",
    ),
    to: described(
      z.optional(isoTime),
      'End, exclusive, in the same forms as `from`. Default: now. At most 31 days after `from` by hour, 400 by day',
    ),
    granularity: described(
      z._default(z.enum(['hour', 'day']), 'day'),
      'Series bucket: `hour` or `day` (local to `tz`); default `day`',
    ),
    tz: timeZoneParam,
  })
  .check(
    z.superRefine((q, ctx) => {
      const { from, to } = instants(q, Date.now());
      if (from >= to)
        ctx.issues.push({ code: 'custom', message: 'from must be before to', path: ['from'], input: q.from });
      else if (to - from > MAX_RANGE_DAYS[q.granularity] * 86_400_000)
        ctx.issues.push({
          code: 'custom',
          message: `At most ${MAX_RANGE_DAYS[q.granularity]} days at ${q.granularity} granularity`,
          path: ['to'],
          input: q.to,
        });
    }),
  );
export type MetricsQuery = z.infer<typeof metricsQuerySchema>;

/** The query's instants, defaulting to the last 7 days. */
export const resolveRange = (q: MetricsQuery, now = Date.now()) => {
  const { from, to } = instants(q, now);
  return { from, to, fromQuarter: quarterOf(new Date(from)), toQuarter: quarterOf(new Date(to - 1)) };
};

export interface QuarterData {
  quarter: string;
  counts: Record<string, number>;
  uniques: BucketUniques;
  /** The persons of the whole UTC day this row starts (a day rollup's), not of this quarter alone. */
  wholeDay?: boolean;
}

export const campaignReport = (
  campaignId: string,
  q: MetricsQuery,
  rows: readonly QuarterData[],
  now = Date.now(),
) => {
  // The range is served in whole quarter-hours: the ones `from` and `to` fall in.
  const { from, to, fromQuarter, toQuarter } = resolveRange(q, now);
  const inRange = rows.filter((r) => r.quarter >= fromQuarter && r.quarter <= toQuarter);
  const all: Record<string, number> = {};
  const byBucket = new Map<string, Record<string, number>>();
  const uniquesByBucket = new Map<string, BucketUniques[]>();
  // Buckets that took a whole UTC day's persons while the day spans other buckets too: their
  // count is the persons of the UTC day, not of the bucket (flagged as not exact).
  const overlapping = new Set<string>();
  for (const r of inRange) {
    const bucket = bucketOfQuarter(r.quarter, q.granularity, q.tz);
    const dayEnd = r.wholeDay
      ? bucketOfQuarter(`${r.quarter.slice(0, 10)}T23:45`, q.granularity, q.tz)
      : bucket;
    if (dayEnd !== bucket) overlapping.add(bucket).add(dayEnd);
    const b = byBucket.get(bucket) ?? {};
    addCounters(all, r.counts);
    addCounters(b, r.counts);
    byBucket.set(bucket, b);
    uniquesByBucket.set(bucket, [...(uniquesByBucket.get(bucket) ?? []), r.uniques]);
  }
  // Dense series: every bucket of the range, empty ones included, in order.
  const buckets: string[] = [];
  for (const quarter of quartersBetween(from, to)) {
    const bucket = bucketOfQuarter(quarter, q.granularity, q.tz);
    if (buckets[buckets.length - 1] !== bucket) buckets.push(bucket);
  }
  const uniques = countUniques(inRange.map((r) => r.uniques));
  const breakdowns = campaignBreakdowns(all);
  return {
    campaignId,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    granularity: q.granularity,
    tz: q.tz,
    ...breakdowns,
    uniqueUsers: uniques.count,
    ...(uniques.estimated && { uniqueUsersEstimated: true }),
    rates: campaignRates(breakdowns.totals, uniques.count),
    series: buckets.map((bucket) => {
      const people = countUniques(uniquesByBucket.get(bucket) ?? []);
      return {
        start: localBucketStart(bucket, q.tz),
        ...seriesBreakdowns(byBucket.get(bucket) ?? {}),
        uniqueUsers: people.count,
        ...((people.estimated || overlapping.has(bucket)) && { uniqueUsersEstimated: true }),
      };
    }),
  };
};

/** A ratio to 4 decimals; null when there is nothing to divide by (not 0: nothing was measured). */
const ratio = (n: number, d: number): number | null => (d > 0 ? Math.round((n / d) * 1e4) / 1e4 : null);

/**
 * The campaign's rates, as analysts read them: click-through (clicks per view), conversion
 * (conversions per click) and conversions per person. Event counts, not distinct converters.
 */
export const campaignRates = (totals: Record<string, number>, uniqueUsers: number) => ({
  clickThrough: ratio(totals.click ?? 0, totals.view ?? 0),
  conversion: ratio(totals.conversion ?? 0, totals.click ?? 0),
  conversionsPerPerson: ratio(totals.conversion ?? 0, uniqueUsers),
});
