/**
 * What an experiment measures and how it is read: its metrics (primary, secondary,
 * guardrails), its analysis (fixed-horizon or sequential, CUPED, α), its mode (a fixed split, a
 * Thompson-sampling bandit, or a holdout), and the effective values of each for definitions
 * stored before these fields existed. Pure.
 *
 * Metrics are per exposed person, counted from their first exposure on:
 * - `conversion`: 1 if the person did the event at least once (a proportion);
 * - `count`: how many times they did it (a mean per person);
 * - `value`: the sum of their conversion values in one currency (revenue per person);
 * - `ratio`: Σ numerator / Σ denominator over the arm's persons (e.g. revenue per order), read
 *   with the delta method since persons, not events, are randomised.
 */
import * as z from 'zod/mini';
import { EVENT_TYPES } from './events';
import { TEST_METHODS, type TestMethod } from './metric-stats';

export const METRIC_KINDS = ['conversion', 'count', 'value', 'ratio'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];
export const EXPERIMENT_MODES = ['ab', 'bandit', 'holdout'] as const;
export type ExperimentMode = (typeof EXPERIMENT_MODES)[number];

export const DESIGN_LIMITS = { secondary: 10, guardrails: 10 } as const;

/**
 * A metric id is part of counter attribute names (`m_<id>_s`) and a key of plain objects in the
 * person item: none of the names objects inherit.
 */
export const metricIdSchema = z.string().check(
  z.regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/,
    'Expected 1..40 of A-Z a-z 0-9 _ - (starting with a letter or digit)',
  ),
  z.refine((id) => !(id in Object.prototype) && id !== 'prototype', 'Reserved name'),
);
const currencySchema = z.string().check(z.regex(/^[A-Z]{3}$/, 'ISO-4217 code, e.g. EUR'));

/** The event a metric counts: a type, and for `custom` optionally the custom event's name. */
export const eventRefSchema = z
  .strictObject({
    type: z.enum(EVENT_TYPES),
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  })
  .check(
    z.superRefine((ref, ctx) => {
      if (ref.name !== undefined && ref.type !== 'custom')
        ctx.issues.push({
          code: 'custom',
          message: 'name applies to custom events only',
          path: ['name'],
          input: ref.name,
        });
    }),
  );
export type EventRef = z.infer<typeof eventRefSchema>;

const denominatorSchema = z.strictObject({
  event: eventRefSchema,
  /** Count the events, or sum their values in `currency`. */
  measure: z.enum(['count', 'value']),
  currency: z.optional(currencySchema),
});

export const metricSchema = z
  .strictObject({
    id: metricIdSchema,
    kind: z.enum(METRIC_KINDS),
    event: eventRefSchema,
    /** `value` metrics, and `ratio` numerators that sum values: the currency summed. */
    currency: z.optional(currencySchema),
    /** `ratio` metrics only. */
    denominator: z.optional(denominatorSchema),
    /** A guardrail is harmed by a significant move against this direction (default: higher is better). */
    higherIsBetter: z.optional(z.boolean()),
  })
  .check(
    z.superRefine((m, ctx) => {
      const issue = (path: (string | number)[], message: string) =>
        ctx.issues.push({ code: 'custom', message, path, input: m });
      if (m.kind === 'value' && m.currency === undefined)
        issue(['currency'], 'A value metric sums one currency: give currency');
      if (m.currency !== undefined && m.kind !== 'value' && m.kind !== 'ratio')
        issue(['currency'], 'currency applies to value and ratio metrics');
      if (m.kind === 'ratio' && m.denominator === undefined)
        issue(['denominator'], 'A ratio metric needs a denominator');
      if (m.kind !== 'ratio' && m.denominator !== undefined)
        issue(['denominator'], 'denominator applies to ratio metrics');
      if (m.denominator?.measure === 'value' && m.denominator.currency === undefined)
        issue(['denominator', 'currency'], 'A value denominator sums one currency: give currency');
      if (
        (m.event.type !== 'conversion' && m.currency !== undefined) ||
        (m.kind === 'value' && m.event.type !== 'conversion')
      )
        issue(['event', 'type'], 'Values come from conversion events: a value metric counts type conversion');
    }),
  );
export type Metric = z.infer<typeof metricSchema>;

export const metricsSchema = z.strictObject({
  /** Default: conversion on the experiment's goal (id `goal`). */
  primary: z.optional(metricSchema),
  secondary: z.optional(
    z.array(metricSchema).check(z.maxLength(DESIGN_LIMITS.secondary, `At most ${DESIGN_LIMITS.secondary}`)),
  ),
  guardrails: z.optional(
    z.array(metricSchema).check(z.maxLength(DESIGN_LIMITS.guardrails, `At most ${DESIGN_LIMITS.guardrails}`)),
  ),
});
export type MetricsDesign = z.infer<typeof metricsSchema>;

export const analysisSchema = z.strictObject({
  /** `fixed`: read once at the planned size; `sequential`: read any day (always-valid). */
  method: z.optional(z.enum(TEST_METHODS)),
  /** Two-sided significance level (default 0.05). */
  alpha: z.optional(z.number().check(z.gte(0.001, 'Expected α ≥ 0.001'), z.lte(0.2, 'Expected α ≤ 0.2'))),
  /** Adjust by each person's pre-exposure activity (CUPED). */
  cuped: z.optional(z.boolean()),
  /** Sequential only: persons where the interval is tightest (default 5000). */
  sequentialTuning: z.optional(z.int().check(z.gte(100), z.lte(100_000_000))),
});
export type Analysis = z.infer<typeof analysisSchema>;

export const banditSchema = z.strictObject({
  /** Share of traffic each arm keeps whatever its results (default 0.05; at most 1/arms). */
  explorationFloor: z.optional(z.number().check(z.gte(0), z.lte(0.5))),
});

/** The weights a bandit set last; arms keep their order. Written by the bandit schedule only. */
export interface Allocation {
  weights: number[];
  probabilityBest: number[];
  updatedAt: string;
}

// ---- effective values --------------------------------------------------------------------

interface Designed {
  goal: EventRef;
  metrics?: MetricsDesign | undefined;
  analysis?: Analysis | undefined;
  mode?: ExperimentMode | undefined;
}

export const GOAL_METRIC_ID = 'goal';

export interface MetricsInUse {
  primary: Metric;
  secondary: Metric[];
  guardrails: Metric[];
}

export const metricsOf = (e: Designed): MetricsInUse => ({
  primary: e.metrics?.primary ?? { id: GOAL_METRIC_ID, kind: 'conversion', event: e.goal },
  secondary: e.metrics?.secondary ?? [],
  guardrails: e.metrics?.guardrails ?? [],
});

/** Every metric once, primary first (what the consumer counts). */
export const allMetrics = (e: Designed): Metric[] => {
  const m = metricsOf(e);
  return [m.primary, ...m.secondary, ...m.guardrails];
};

export interface AnalysisInUse {
  method: TestMethod;
  alpha: number;
  cuped: boolean;
  sequentialTuning: number;
}

export const analysisOf = (e: Designed): AnalysisInUse => ({
  method: e.analysis?.method ?? 'fixed',
  alpha: e.analysis?.alpha ?? 0.05,
  cuped: e.analysis?.cuped ?? false,
  sequentialTuning: e.analysis?.sequentialTuning ?? 5000,
});

export const modeOf = (e: { mode?: ExperimentMode | undefined }): ExperimentMode => e.mode ?? 'ab';

interface Weighted {
  experimentId: string;
  coverage: number;
  mode?: ExperimentMode | undefined;
  variants: readonly { id: string; weight: number }[];
  allocation?: Allocation | undefined;
}

/** The weights an experiment assigns with now: a bandit's allocation, else the variants' own. */
export const currentWeights = (e: Weighted): number[] =>
  modeOf(e) === 'bandit' && e.allocation && e.allocation.weights.length === e.variants.length
    ? e.allocation.weights
    : e.variants.map((v) => v.weight);

/** What bucketing needs, with the current weights (new persons only: assignments are stored). */
export const bucketableOf = (
  e: Weighted,
): { experimentId: string; coverage: number; variants: { id: string; weight: number }[] } => {
  const weights = currentWeights(e);
  return {
    experimentId: e.experimentId,
    coverage: e.coverage,
    variants: e.variants.map((v, i) => ({ id: v.id, weight: weights[i] ?? 0 })),
  };
};

/** Problems with the design as a whole: [path, message] pairs. */
export const designIssues = (body: {
  goal: EventRef;
  metrics?: MetricsDesign | undefined;
  mode?: ExperimentMode | undefined;
  placement: string;
  variants: readonly unknown[];
}): [(string | number)[], string][] => {
  const out: [(string | number)[], string][] = [];
  const seen = new Map<string, string>();
  const ids: [string, (string | number)[]][] = [
    ...(body.metrics?.primary
      ? [[body.metrics.primary.id, ['metrics', 'primary', 'id']] as [string, (string | number)[]]]
      : []),
    ...(body.metrics?.secondary ?? []).map((m, i): [string, (string | number)[]] => [
      m.id,
      ['metrics', 'secondary', i, 'id'],
    ]),
    ...(body.metrics?.guardrails ?? []).map((m, i): [string, (string | number)[]] => [
      m.id,
      ['metrics', 'guardrails', i, 'id'],
    ]),
  ];
  if (!body.metrics?.primary) seen.set(GOAL_METRIC_ID, 'the goal metric');
  for (const [id, path] of ids) {
    const first = seen.get(id);
    if (first !== undefined) out.push([path, `Duplicate metric id "${id}" (also ${first})`]);
    else seen.set(id, path.join('.'));
  }
  const mode = body.mode ?? 'ab';
  if (body.placement === ALL_PLACEMENTS && mode !== 'holdout')
    out.push([['placement'], `"${ALL_PLACEMENTS}" (every placement) is for holdouts only`]);
  if (mode === 'holdout' && body.variants.length !== 2)
    out.push([['variants'], 'A holdout has two variants: the held-out group first, then the exposed one']);
  return out;
};

/** A holdout's placement that covers every placement. */
export const ALL_PLACEMENTS = '*';

/** Running holdouts covering a placement: its own and the global ones. */
export const holdoutsAt = <
  E extends { experimentId: string; status: string; placement: string; mode?: ExperimentMode | undefined },
>(
  experiments: readonly E[],
  placement: string,
): E[] =>
  experiments
    .filter(
      (e) =>
        e.status === 'running' &&
        modeOf(e) === 'holdout' &&
        (e.placement === placement || e.placement === ALL_PLACEMENTS),
    )
    .sort((a, b) => (a.experimentId < b.experimentId ? -1 : 1));
