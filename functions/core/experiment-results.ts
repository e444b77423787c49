/**
 * An experiment's results per metric, from its variant counters: each metric's estimate per arm
 * and, against the control (the first variant), the effect with its interval and p-value by the
 * experiment's analysis (fixed or sequential, CUPED or not), guardrail harm, and for bandits each
 * arm's probability of being best. Pure.
 */
import {
  conversionPosterior,
  DEFAULT_EXPLORATION_FLOOR,
  type Posterior,
  probabilityBest,
  thompsonWeights,
} from './bandit';
import {
  type Allocation,
  type AnalysisInUse,
  analysisOf,
  GOAL_METRIC_ID,
  type Metric,
  metricsOf,
  modeOf,
} from './experiment-design';
import { momentsFromCounters } from './experiment-metrics';
import type { StoredExperiment } from './experiments';
import {
  analyseMetric,
  type Comparison,
  type Estimate,
  type Moments,
  meanEstimate,
  ratioEstimate,
} from './metric-stats';
import { fnv1a32 } from './variant-assignment';

export type MetricRole = 'primary' | 'secondary' | 'guardrail';

export interface MetricArmResult {
  id: string;
  exposures: number;
  /** Per person (a rate for conversions; Σy/Σz for ratios); CUPED-adjusted when asked. */
  mean: number;
  /** Variance of that mean. */
  variance: number;
  /** Against the control; absent on the control. */
  difference?: number;
  ci?: Comparison['ci'];
  pValue?: number;
  relative?: Comparison['relative'];
  significant?: boolean;
}

export interface MetricResult {
  id: string;
  role: MetricRole;
  kind: Metric['kind'];
  event: Metric['event'];
  currency?: string;
  higherIsBetter: boolean;
  /** CUPED's θ, when CUPED adjusted this metric. */
  cupedTheta?: number;
  variants: MetricArmResult[];
  /** Guardrails: the variants whose effect is a significant harm. */
  harmedBy?: string[];
}

export interface ExperimentMetricResults {
  analysis: AnalysisInUse & { method: AnalysisInUse['method']; reference: string };
  metrics: MetricResult[];
  /** Guardrails harmed by any variant (every one listed in its metric). */
  guardrailsHarmed: string[];
  /** Bandits: each arm's posterior probability of being best on the primary metric. */
  probabilityBest?: Record<string, number>;
}

const REFERENCES = {
  fixed:
    'Fixed horizon: normal interval of the difference (Welch, unpooled); relative effect by the delta method (Deng et al. 2018)',
  sequential:
    'Sequential: Gaussian-mixture confidence sequence (Howard et al. 2021, as GrowthBook), always-valid p-value of the same mixture (mSPRT, Johari et al. 2017); relative effect by the delta method (Deng et al. 2018)',
} as const;

type Counters = ReadonlyMap<string, Readonly<Record<string, number>>>;

/** The goal metric counts from the exposure-time `conversions` counter (exact for every exposure). */
const momentsOf = (
  m: Metric,
  isGoal: boolean,
  n: number,
  c: Readonly<Record<string, number>>,
  cuped: boolean,
): Moments => {
  const moments = momentsFromCounters(m, n, c, cuped);
  if (!isGoal) return moments;
  const conversions = c.conversions ?? 0;
  return { ...moments, sum: conversions, sumSq: conversions };
};

const metricResult = (
  e: StoredExperiment,
  m: Metric,
  role: MetricRole,
  counters: Counters,
  analysis: AnalysisInUse,
): MetricResult => {
  const isGoal = role === 'primary' && m.id === GOAL_METRIC_ID && e.metrics?.primary === undefined;
  const moments = e.variants.map((v) => {
    const c = counters.get(v.id) ?? {};
    return momentsOf(m, isGoal, c.exposures ?? 0, c, analysis.cuped);
  });
  const analysed = analyseMetric(moments, {
    method: analysis.method,
    alpha: analysis.alpha,
    tuning: analysis.sequentialTuning,
    ratio: m.kind === 'ratio',
    cuped: analysis.cuped,
  });
  const higherIsBetter = m.higherIsBetter ?? true;
  const variants = e.variants.map((v, i): MetricArmResult => {
    const arm = analysed.arms[i] as { estimate: Estimate; comparison?: Comparison };
    return {
      id: v.id,
      exposures: moments[i]?.n ?? 0,
      mean: arm.estimate.mean,
      variance: arm.estimate.variance,
      ...(arm.comparison && {
        difference: arm.comparison.difference,
        ci: arm.comparison.ci,
        pValue: arm.comparison.pValue,
        relative: arm.comparison.relative,
        significant: arm.comparison.significant,
      }),
    };
  });
  const result: MetricResult = {
    id: m.id,
    role,
    kind: m.kind,
    event: m.event,
    ...(m.currency !== undefined && { currency: m.currency }),
    higherIsBetter,
    ...(analysed.theta !== undefined && { cupedTheta: analysed.theta }),
    variants,
  };
  if (role === 'guardrail')
    result.harmedBy = variants
      .filter((v) => v.ci !== undefined && (higherIsBetter ? v.ci.upper < 0 : v.ci.lower > 0))
      .map((v) => v.id);
  return result;
};

/**
 * Each arm's probability of being best on the primary metric, from its raw sums (Beta posteriors
 * for conversions, normal ones otherwise; lower-is-better metrics ranked mirrored), seeded by the
 * experiment's id so the same counts always give the same answer.
 */
export const primaryProbabilityBest = (e: StoredExperiment, counters: Counters): number[] => {
  const primary = metricsOf(e).primary;
  const isGoal = primary.id === GOAL_METRIC_ID && e.metrics?.primary === undefined;
  const sign = (primary.higherIsBetter ?? true) ? 1 : -1;
  const posteriors = e.variants.map((v): Posterior => {
    const c = counters.get(v.id) ?? {};
    const m = momentsOf(primary, isGoal, c.exposures ?? 0, c, false);
    if (primary.kind === 'conversion' && sign > 0) return conversionPosterior(m.n, m.sum);
    const est = primary.kind === 'ratio' ? ratioEstimate(m) : meanEstimate(m);
    return {
      kind: 'normal',
      estimate: { mean: sign * est.mean, variance: est.variance > 0 ? est.variance : 1e-12 },
    };
  });
  return probabilityBest(posteriors, fnv1a32(e.experimentId));
};

export const experimentMetricResults = (e: StoredExperiment, counters: Counters): ExperimentMetricResults => {
  const analysis = analysisOf(e);
  const design = metricsOf(e);
  const metrics = [
    metricResult(e, design.primary, 'primary', counters, analysis),
    ...design.secondary.map((m) => metricResult(e, m, 'secondary', counters, analysis)),
    ...design.guardrails.map((m) => metricResult(e, m, 'guardrail', counters, analysis)),
  ];
  const out: ExperimentMetricResults = {
    analysis: { ...analysis, reference: REFERENCES[analysis.method] },
    metrics,
    guardrailsHarmed: metrics.filter((m) => (m.harmedBy?.length ?? 0) > 0).map((m) => m.id),
  };
  if (modeOf(e) === 'bandit') {
    const p = primaryProbabilityBest(e, counters);
    out.probabilityBest = Object.fromEntries(e.variants.map((v, i) => [v.id, p[i] ?? 0]));
  }
  return out;
};

/** Persons each arm needs before a bandit moves any weight (a burn-in, as GrowthBook's bandits have). */
export const BANDIT_BURN_IN = 20;

/**
 * A bandit's next allocation: Thompson weights on the primary metric with the experiment's
 * exploration floor; undefined while an arm is still in its burn-in.
 */
export const banditAllocation = (
  e: StoredExperiment,
  counters: Counters,
  now: Date,
): Allocation | undefined => {
  if (e.variants.some((v) => (counters.get(v.id)?.exposures ?? 0) < BANDIT_BURN_IN)) return undefined;
  const p = primaryProbabilityBest(e, counters);
  return {
    weights: thompsonWeights(p, e.bandit?.explorationFloor ?? DEFAULT_EXPLORATION_FLOOR),
    probabilityBest: p,
    updatedAt: now.toISOString(),
  };
};
