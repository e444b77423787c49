/**
 * Campaign alerts: an analyst's condition on a campaign metric over a trailing window — above or
 * below a threshold, or a change (in percent) against the mean of the windows before it — evaluated
 * on a schedule from the campaign's quarter-hour counters, and delivered through the destinations
 * that ask for `alert` messages. Pure.
 *
 * Only whole quarter-hours count (the current one is still filling). An alert fires when its
 * condition starts to hold, and again while it keeps holding only after `cooldownMinutes`.
 */
import * as z from 'zod/mini';
import type { AlertFired } from './destinations/delivery';
import { campaignIdSchema, EVENT_TYPES } from './events';
import { QUARTER_MS, quarterOf, quarterStartMs } from './time-buckets';
import './zod';

export const ALERT_METRICS = ['events', ...EVENT_TYPES, 'conversionRate'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

export const alertIdSchema = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'Expected 1..63 characters of a-z, 0-9, _ and -'));

const quarters = z.int().check(
  z.gte(15),
  z.lte(1440),
  z.refine((n: number) => n % 15 === 0, 'Expected a multiple of 15'),
);

export const alertBodySchema = z.strictObject({
  campaignId: campaignIdSchema,
  /** `events`: every event; an event type: its count; `conversionRate`: conversions per view. */
  metric: z.enum(ALERT_METRICS),
  windowMinutes: quarters,
  condition: z.discriminatedUnion('op', [
    z.strictObject({ op: z.literal('above'), threshold: z.number() }),
    z.strictObject({ op: z.literal('below'), threshold: z.number() }),
    z.strictObject({
      op: z.literal('change'),
      /** Fires when |value − baseline| / baseline ≥ percent / 100 (baseline 0: when value > 0). */
      percent: z.number().check(z.gt(0), z.lte(10_000)),
      /** Windows before the current one whose mean is the baseline. */
      baselineWindows: z._default(z.int().check(z.gte(1), z.lte(96)), 4),
    }),
  ]),
  enabled: z._default(z.boolean(), true),
  cooldownMinutes: z._default(z.int().check(z.gte(5), z.lte(10_080)), 60),
  description: z.optional(z.string().check(z.maxLength(500))),
});
export type AlertBody = z.infer<typeof alertBodySchema>;

export interface Alert extends AlertBody {
  alertId: string;
  createdAt: string;
  updatedAt: string;
}

export interface AlertState {
  holding: boolean;
  lastEvaluatedAt: string;
  lastValue: number;
  baseline?: number;
  lastFiredAt?: string;
}

/** Counter attributes of a quarter (functions/core/aggregates.ts: `n`, `t_<type>`). */
export type QuarterCounts = ReadonlyMap<string, Readonly<Record<string, number>>>;

const metricOf = (metric: AlertMetric, c: Readonly<Record<string, number>>): { num: number; den: number } =>
  metric === 'events'
    ? { num: c.n ?? 0, den: 1 }
    : metric === 'conversionRate'
      ? { num: c.t_conversion ?? 0, den: c.t_view ?? 0 }
      : { num: c[`t_${metric}`] ?? 0, den: 1 };

/** The metric over the quarters in [fromMs, toMs). */
export const windowValue = (
  metric: AlertMetric,
  counts: QuarterCounts,
  fromMs: number,
  toMs: number,
): number => {
  let num = 0;
  let den = 0;
  for (let t = fromMs; t < toMs; t += QUARTER_MS) {
    const c = counts.get(quarterOf(new Date(t)));
    const v = metricOf(metric, c ?? {});
    num += v.num;
    den += metric === 'conversionRate' ? v.den : 0;
  }
  if (metric === 'conversionRate') return den === 0 ? 0 : num / den;
  return num;
};

/** The span of quarters an evaluation at `now` reads: the window and its baseline windows. */
export const evaluationSpan = (a: AlertBody, now: Date): { fromMs: number; toMs: number } => {
  const toMs = quarterStartMs(quarterOf(now));
  const windows = a.condition.op === 'change' ? a.condition.baselineWindows + 1 : 1;
  return { fromMs: toMs - windows * a.windowMinutes * 60_000, toMs };
};

export const evaluateAlert = (
  a: Alert,
  counts: QuarterCounts,
  previous: AlertState | undefined,
  now: Date,
): { state: AlertState; fired?: AlertFired } => {
  const { fromMs, toMs } = evaluationSpan(a, now);
  const w = a.windowMinutes * 60_000;
  const value = windowValue(a.metric, counts, toMs - w, toMs);
  let holding: boolean;
  let baseline: number | undefined;
  let threshold: number;
  const c = a.condition;
  if (c.op === 'change') {
    let sum = 0;
    for (let start = fromMs; start < toMs - w; start += w)
      sum += windowValue(a.metric, counts, start, start + w);
    baseline = sum / c.baselineWindows;
    threshold = c.percent;
    holding = baseline === 0 ? value > 0 : (Math.abs(value - baseline) / baseline) * 100 >= c.percent;
  } else {
    threshold = c.threshold;
    holding = c.op === 'above' ? value > c.threshold : value < c.threshold;
  }
  const cooled =
    previous?.lastFiredAt === undefined ||
    now.getTime() - Date.parse(previous.lastFiredAt) >= a.cooldownMinutes * 60_000;
  const fires = a.enabled && holding && (!previous?.holding || cooled);
  const state: AlertState = {
    holding,
    lastEvaluatedAt: now.toISOString(),
    lastValue: value,
    ...(baseline !== undefined && { baseline }),
    ...((fires ? now.toISOString() : previous?.lastFiredAt) !== undefined && {
      lastFiredAt: fires ? now.toISOString() : previous?.lastFiredAt,
    }),
  };
  if (!fires) return { state };
  return {
    state,
    fired: {
      alertId: a.alertId,
      campaignId: a.campaignId,
      metric: a.metric,
      condition: c.op,
      value,
      threshold,
      ...(baseline !== undefined && { baseline }),
      windowStart: new Date(toMs - w).toISOString(),
      windowEnd: new Date(toMs).toISOString(),
    },
  };
};
