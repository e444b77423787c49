/**
 * Analyses over the archive — funnel, retention, paths — as SQL that Athena (Trino) and DuckDB
 * both run unchanged, and the shaping of their rows into answers. Pure: the engine that runs the
 * SQL is an adapter's business (functions/adapters/analytics-engine.ts).
 *
 * Portability rules the SQL keeps: times are epoch-ms bigints (no timestamp functions, which
 * differ), integer division is written `floor(x / n.0)` (DuckDB's `/` is float division), the
 * median is computed with window functions (Trino has no exact `median`, DuckDB no
 * `approx_percentile`), strings are joined with `||` (NULL in, NULL out in both; `concat` differs),
 * and no named WINDOW clauses.
 *
 * Every analysis reads the same three CTEs:
 *  - `raw`: the date range's rows, one per event (`copy = 1`): the archive is at least once
 *    (a client retry with its event id, a Firehose redelivery), the answers exactly once;
 *  - `links`: anonymous id → user, from the identify events archived since the range's start
 *    (first link wins, as in the users table); links older than that were already applied when the
 *    events were archived (`person_key` is the person the consumer's identity resolved);
 *  - `ev`: each event with its `person` — after identity merges, an anonymous id linked to a user
 *    is that user.
 */
import * as z from 'zod/mini';
import { lit } from './archive';
import { campaignIdSchema, EVENT_TYPES, text } from './events';

// ---- requests ------------------------------------------------------------------------------

/** Longest date range an analysis or an export may cover: bounds the bytes Athena scans. */
export const MAX_RANGE_DAYS = 92;
export const DAY_MS = 86_400_000;

const DATE = /^\d{4}-\d\d-\d\d$/;
const dateSchema = z.string().check(
  z.regex(DATE, 'Expected a date YYYY-MM-DD'),
  z.refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'Not a calendar date'),
);

/** An event a step matches: a type, optionally a custom event's name and a campaign. */
export const stepSchema = z.object({
  type: z.enum([...EVENT_TYPES, 'exposure']),
  name: z.optional(text(128)),
  campaignId: z.optional(campaignIdSchema),
});
export type Step = z.infer<typeof stepSchema>;

const range = {
  from: dateSchema,
  to: dateSchema,
};

/** `to` is not before `from`, and the range is at most MAX_RANGE_DAYS days. */
const boundedRange = z.refine<{ from: string; to: string }>(
  (r) => {
    const days = (Date.parse(`${r.to}T00:00:00Z`) - Date.parse(`${r.from}T00:00:00Z`)) / DAY_MS;
    return days >= 0 && days < MAX_RANGE_DAYS;
  },
  { message: `Expected from <= to, at most ${MAX_RANGE_DAYS} days`, path: ['to'] },
);

export const BREAKDOWNS = ['channel', 'deviceType', 'variant'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

const funnelSchema = z
  .object({
    analysis: z.literal('funnel'),
    ...range,
    steps: z.array(stepSchema).check(z.minLength(2), z.maxLength(8)),
    /** Conversion window from the first step, in seconds (default 7 days, at most 90 days). */
    windowSeconds: z._default(z.int().check(z.gte(1), z.lte(90 * 86_400)), 7 * 86_400),
    breakdown: z.optional(z.enum(BREAKDOWNS)),
  })
  .check(boundedRange);

const retentionSchema = z
  .object({
    analysis: z.literal('retention'),
    ...range,
    cohort: stepSchema,
    return: stepSchema,
    period: z._default(z.enum(['day', 'week']), 'day'),
    /** Periods after the cohort's (columns of the triangle beyond period 0). */
    periods: z._default(z.int().check(z.gte(1), z.lte(31)), 7),
  })
  .check(boundedRange);

const pathsSchema = z
  .object({
    analysis: z.literal('paths'),
    ...range,
    after: stepSchema,
    /** How many events after the anchor make a path. */
    depth: z._default(z.int().check(z.gte(1), z.lte(3)), 1),
    limit: z._default(z.int().check(z.gte(1), z.lte(50)), 10),
  })
  .check(boundedRange);

export const analysisRequestSchema = z.discriminatedUnion('analysis', [
  funnelSchema,
  retentionSchema,
  pathsSchema,
]);
export type AnalysisRequest = z.infer<typeof analysisRequestSchema>;
export type FunnelRequest = z.infer<typeof funnelSchema>;
export type RetentionRequest = z.infer<typeof retentionSchema>;
export type PathsRequest = z.infer<typeof pathsSchema>;

/** An export of archived events (admin): a date range, optionally some types, one file format. */
export const exportRequestSchema = z
  .object({
    ...range,
    types: z.optional(
      z.array(z.enum([...EVENT_TYPES, 'exposure', 'identify'])).check(z.minLength(1), z.maxLength(8)),
    ),
    format: z.enum(['parquet', 'ndjson']),
  })
  .check(boundedRange);
export type ExportRequest = z.infer<typeof exportRequestSchema>;

// ---- SQL -----------------------------------------------------------------------------------

/** `e.type = 'click' AND e.event_name = …`: what an event must be to match a step. */
const matches = (step: Step, alias = ''): string =>
  [
    `${alias}type = ${lit(step.type)}`,
    ...(step.name !== undefined ? [`${alias}event_name = ${lit(step.name)}`] : []),
    ...(step.campaignId !== undefined ? [`${alias}campaign_id = ${lit(step.campaignId)}`] : []),
  ].join(' AND ');

/**
 * The three common CTEs (see the header). `source` is the events table: `"db"."events"` in Athena,
 * the archive's view in DuckDB.
 */
export const eventsCte = (source: string, from: string, to: string): string => `raw AS (
  SELECT event_id, type, event_name, campaign_id, channel, device_type, experiment_id, variant,
         person_key, user_id, anonymous_id, event_ms,
         row_number() OVER (PARTITION BY event_id, coalesce(user_id, anonymous_id) ORDER BY received_ms) AS copy
  FROM ${source}
  WHERE dt BETWEEN ${lit(from)} AND ${lit(to)} AND type <> 'identify'
),
links AS (
  SELECT anonymous_id, min_by(user_id, event_ms) AS user_id
  FROM ${source}
  WHERE dt >= ${lit(from)} AND type = 'identify' AND anonymous_id IS NOT NULL AND user_id IS NOT NULL
  GROUP BY anonymous_id
),
ev AS (
  SELECT r.*, coalesce(r.user_id, l.user_id, r.person_key) AS person
  FROM raw r LEFT JOIN links l ON r.user_id IS NULL AND l.anonymous_id = r.anonymous_id
  WHERE r.copy = 1
)`;

const breakdownColumn: Record<Breakdown, string> = {
  channel: `coalesce(channel, 'none')`,
  deviceType: 'device_type',
  variant: `coalesce(experiment_id || '/' || variant, 'none')`,
};

/** The breakdown label of all people, beside each value's. */
export const ALL = '*';

export const funnelSql = (source: string, r: FunnelRequest): string => {
  const windowMs = r.windowSeconds * 1000;
  const b = r.breakdown ? breakdownColumn[r.breakdown] : lit(ALL);
  const steps = r.steps.map((step, i) => {
    const k = i + 1;
    if (k === 1)
      return `s1 AS (
  SELECT person, t1, b FROM (
    SELECT person, event_ms AS t1, ${b} AS b,
           row_number() OVER (PARTITION BY person ORDER BY event_ms, event_id) AS rn
    FROM ev WHERE ${matches(step)}
  ) first WHERE rn = 1
)`;
    const carried = Array.from({ length: k - 1 }, (_, j) => `s.t${j + 1}`).join(', ');
    return `s${k} AS (
  SELECT s.person, s.b, ${carried}, min(e.event_ms) AS t${k}
  FROM s${k - 1} s JOIN ev e ON e.person = s.person AND ${matches(step, 'e.')}
   AND e.event_ms > s.t${k - 1} AND e.event_ms <= s.t1 + ${windowMs}
  GROUP BY s.person, s.b, ${carried}
)`;
  });
  const reached = r.steps
    .map((_, i) =>
      i === 0
        ? 'SELECT 1 AS step, b, CAST(NULL AS bigint) AS d FROM s1'
        : `SELECT ${i + 1}, b, t${i + 1} - t${i} FROM s${i + 1}`,
    )
    .join('\n  UNION ALL ');
  const grouped = r.breakdown
    ? `SELECT step, b, d FROM reached UNION ALL SELECT step, ${lit(ALL)}, d FROM reached`
    : 'SELECT step, b, d FROM reached';
  return `WITH ${eventsCte(source, r.from, r.to)},
${steps.join(',\n')},
reached AS (
  ${reached}
),
grouped AS (${grouped}),
ranked AS (
  SELECT step, b, d,
         row_number() OVER (PARTITION BY step, b ORDER BY d) AS rn,
         count(d) OVER (PARTITION BY step, b) AS nd,
         count(*) OVER (PARTITION BY step, b) AS n
  FROM grouped
)
SELECT step, b AS breakdown, max(n) AS people,
       avg(CASE WHEN 2 * rn BETWEEN nd AND nd + 2 THEN d END) AS median_ms
FROM ranked GROUP BY step, b ORDER BY b, step`;
};

/** Period index of an epoch-ms expression: UTC days, or ISO weeks (Monday first; 1970-01-01 was a Thursday). */
const periodIndex = (period: 'day' | 'week', ms: string): string =>
  period === 'day'
    ? `CAST(floor(${ms} / ${DAY_MS}.0) AS bigint)`
    : `CAST(floor((floor(${ms} / ${DAY_MS}.0) + 3) / 7.0) AS bigint)`;

export const retentionSql = (
  source: string,
  r: RetentionRequest,
): string => `WITH ${eventsCte(source, r.from, r.to)},
cohort AS (
  SELECT person, ${periodIndex(r.period, 'min(event_ms)')} AS p0
  FROM ev WHERE ${matches(r.cohort)} GROUP BY person
),
returned AS (
  SELECT DISTINCT c.person, c.p0, ${periodIndex(r.period, 'e.event_ms')} - c.p0 AS k
  FROM cohort c JOIN ev e ON e.person = c.person AND ${matches(r.return, 'e.')}
  WHERE ${periodIndex(r.period, 'e.event_ms')} - c.p0 BETWEEN 1 AND ${r.periods}
)
SELECT p0 AS cohort, 0 AS k, count(*) AS people FROM cohort GROUP BY p0
UNION ALL
SELECT p0, k, count(*) FROM returned GROUP BY p0, k
ORDER BY cohort, k`;

const LABEL = `type || coalesce(':' || event_name, '')`;
const ORDER = 'PARTITION BY person ORDER BY event_ms, event_id';

export const pathsSql = (source: string, r: PathsRequest): string => {
  const next = Array.from({ length: r.depth }, (_, i) => `n${i + 1}`);
  return `WITH ${eventsCte(source, r.from, r.to)},
seq AS (
  SELECT person, type, event_name, campaign_id,
         ${next.map((n, i) => `lead(${LABEL}, ${i + 1}) OVER (${ORDER}) AS ${n}`).join(',\n         ')}
  FROM ev
)
SELECT ${next.map((n) => `coalesce(${n}, '(end)') AS ${n}`).join(', ')},
       count(*) AS occurrences, count(DISTINCT person) AS people
FROM seq WHERE ${matches(r.after)} AND n1 IS NOT NULL
GROUP BY ${next.join(', ')}
ORDER BY occurrences DESC, ${next.join(', ')}
LIMIT ${r.limit}`;
};

export const analysisSql = (source: string, r: AnalysisRequest): string =>
  r.analysis === 'funnel'
    ? funnelSql(source, r)
    : r.analysis === 'retention'
      ? retentionSql(source, r)
      : pathsSql(source, r);

// ---- answers -------------------------------------------------------------------------------

/** Rows as engines give them: column name → value (numbers may come as text or bigint). */
export type SqlRow = Readonly<Record<string, unknown>>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export interface FunnelStep {
  step: number;
  type: string;
  name?: string;
  campaignId?: string;
  people: number;
  /** Of the people of the previous step (1 for the first). */
  conversionFromPrevious: number;
  conversionFromStart: number;
  /** Median time from the previous step, in seconds (null for the first, or when nobody got here). */
  medianSecondsFromPrevious: number | null;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

const funnelSteps = (r: FunnelRequest, rows: readonly SqlRow[]): FunnelStep[] => {
  const byStep = new Map(rows.map((row) => [num(row.step), row]));
  const people = r.steps.map((_, i) => num(byStep.get(i + 1)?.people));
  return r.steps.map((s, i) => {
    const median = byStep.get(i + 1)?.median_ms;
    return {
      step: i + 1,
      ...s,
      people: people[i] as number,
      conversionFromPrevious: i === 0 ? 1 : ratio(people[i] as number, people[i - 1] as number),
      conversionFromStart: ratio(people[i] as number, people[0] as number),
      medianSecondsFromPrevious:
        i === 0 || median === null || median === undefined ? null : Number(median) / 1000,
    };
  });
};

export interface FunnelResult {
  analysis: 'funnel';
  steps: FunnelStep[];
  /** Per breakdown value (the value on each person's first step), when a breakdown was asked. */
  breakdown?: { by: Breakdown; values: { value: string; steps: FunnelStep[] }[] };
}

export const funnelResult = (r: FunnelRequest, rows: readonly SqlRow[]): FunnelResult => {
  const groups = new Map<string, SqlRow[]>();
  for (const row of rows) {
    const key = String(row.breakdown);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return {
    analysis: 'funnel',
    steps: funnelSteps(r, groups.get(ALL) ?? []),
    ...(r.breakdown
      ? {
          breakdown: {
            by: r.breakdown,
            values: [...groups]
              .filter(([value]) => value !== ALL)
              .map(([value, group]) => ({ value, steps: funnelSteps(r, group) })),
          },
        }
      : {}),
  };
};

export interface RetentionCohort {
  /** First day of the cohort's period (UTC). */
  start: string;
  people: number;
  /** People back in period k (k = 1..periods), as counts and as a share; null where k is after `to`. */
  returned: (number | null)[];
  rates: (number | null)[];
}

export interface RetentionResult {
  analysis: 'retention';
  period: 'day' | 'week';
  cohorts: RetentionCohort[];
}

const periodStartMs = (period: 'day' | 'week', index: number): number =>
  period === 'day' ? index * DAY_MS : (index * 7 - 3) * DAY_MS;

export const retentionResult = (r: RetentionRequest, rows: readonly SqlRow[]): RetentionResult => {
  const cohorts = new Map<number, Map<number, number>>();
  for (const row of rows) {
    const p0 = num(row.cohort);
    const counts = cohorts.get(p0) ?? new Map<number, number>();
    counts.set(num(row.k), num(row.people));
    cohorts.set(p0, counts);
  }
  const end = Date.parse(`${r.to}T00:00:00Z`);
  const periodMs = (r.period === 'day' ? 1 : 7) * DAY_MS;
  return {
    analysis: 'retention',
    period: r.period,
    cohorts: [...cohorts]
      .sort(([a], [b]) => a - b)
      .map(([p0, counts]) => {
        const start = periodStartMs(r.period, p0);
        const size = counts.get(0) ?? 0;
        const ks = Array.from({ length: r.periods }, (_, i) => i + 1);
        // A period that starts after the range's last day has not been observed: null, not 0.
        const returned = ks.map((k) => (start + k * periodMs > end ? null : (counts.get(k) ?? 0)));
        return {
          start: new Date(start).toISOString().slice(0, 10),
          people: size,
          returned,
          rates: returned.map((n) => (n === null ? null : ratio(n, size))),
        };
      }),
  };
};

export interface PathsResult {
  analysis: 'paths';
  paths: { events: string[]; occurrences: number; people: number }[];
}

export const pathsResult = (r: PathsRequest, rows: readonly SqlRow[]): PathsResult => ({
  analysis: 'paths',
  paths: rows.map((row) => ({
    events: Array.from({ length: r.depth }, (_, i) => String(row[`n${i + 1}`])),
    occurrences: num(row.occurrences),
    people: num(row.people),
  })),
});

export type AnalysisResult = FunnelResult | RetentionResult | PathsResult;

export const analysisResult = (r: AnalysisRequest, rows: readonly SqlRow[]): AnalysisResult =>
  r.analysis === 'funnel'
    ? funnelResult(r, rows)
    : r.analysis === 'retention'
      ? retentionResult(r, rows)
      : pathsResult(r, rows);
