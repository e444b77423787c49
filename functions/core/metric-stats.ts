/**
 * Metric statistics for experiments, from per-arm sufficient statistics. Pure, no dependencies.
 *
 * Every metric is a per-person value y (exposed persons are the unit): a conversion is 0/1, a
 * count is the person's number of events after their first exposure, a value is the person's sum
 * of conversion values in one currency. An arm keeps n, Σy, Σy² — and, for CUPED, the
 * pre-exposure covariate x: Σx, Σx², Σxy; for a ratio metric (numerator y over denominator z,
 * summed over persons) Σz, Σz², Σyz.
 *
 * Methods (each cited where it is implemented):
 * - difference of means with a normal (Welch, unpooled) standard error;
 * - the relative effect μ₁/μ₀ − 1 and ratio metrics Σy/Σz by the delta method
 *   (Deng, Knoblich & Lu 2018, "Applying the Delta Method in Metric Analytics", KDD);
 * - CUPED: y − θ(x − x̄) with θ = cov(x, y)/var(x) over both arms pooled
 *   (Deng, Xu, Kohavi & Walker 2013, "Improving the Sensitivity of Online Controlled
 *   Experiments by Utilizing Pre-Experiment Data", WSDM) — the variance shrinks by 1 − ρ²;
 * - fixed-horizon tests (the z interval, valid when read once at a planned sample size), or
 *   sequential ones: the Gaussian-mixture confidence sequence of Howard, Ramdas, McAuliffe &
 *   Sekhon 2021 ("Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of
 *   Statistics, eq. 14) in the asymptotic form GrowthBook uses, valid at every look, with the
 *   always-valid p-value of the same normal mixture (the mixture SPRT of Johari, Koomen, Pekelis
 *   & Walsh 2017, "Peeking at A/B Tests", KDD: p = 1/Λₙ).
 */
import { normalCdf } from './stats';

/** Φ⁻¹(p): Acklam's rational approximation, refined by one Halley step against Φ (~1e-15). */
export const normalQuantile = (p: number): number => {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : Number.NaN;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  // One Halley step: e = Φ(x) − p, u = e·√(2π)·exp(x²/2).
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
};

/** Per-arm sufficient statistics of one metric. x: the CUPED covariate; z: a ratio's denominator. */
export interface Moments {
  n: number;
  sum: number;
  sumSq: number;
  xSum?: number;
  xSumSq?: number;
  xySum?: number;
  zSum?: number;
  zSumSq?: number;
  yzSum?: number;
}

export const EMPTY_MOMENTS: Moments = { n: 0, sum: 0, sumSq: 0 };

/** Moments of raw values (tests, simulations). */
export const momentsOf = (y: readonly number[], x?: readonly number[], z?: readonly number[]): Moments => {
  const m: Moments = { n: y.length, sum: 0, sumSq: 0 };
  if (x) Object.assign(m, { xSum: 0, xSumSq: 0, xySum: 0 });
  if (z) Object.assign(m, { zSum: 0, zSumSq: 0, yzSum: 0 });
  y.forEach((yi, i) => {
    m.sum += yi;
    m.sumSq += yi * yi;
    if (x) {
      const xi = x[i] as number;
      m.xSum = (m.xSum as number) + xi;
      m.xSumSq = (m.xSumSq as number) + xi * xi;
      m.xySum = (m.xySum as number) + xi * yi;
    }
    if (z) {
      const zi = z[i] as number;
      m.zSum = (m.zSum as number) + zi;
      m.zSumSq = (m.zSumSq as number) + zi * zi;
      m.yzSum = (m.yzSum as number) + yi * zi;
    }
  });
  return m;
};

/** Sample variance (n − 1) from a sum and a sum of squares; 0 below two observations. */
const sampleVar = (n: number, sum: number, sumSq: number): number =>
  n > 1 ? Math.max(0, (sumSq - (sum * sum) / n) / (n - 1)) : 0;
const sampleCov = (n: number, sa: number, sb: number, sab: number): number =>
  n > 1 ? (sab - (sa * sb) / n) / (n - 1) : 0;

/** An estimate and the variance of that estimate. */
export interface Estimate {
  mean: number;
  /** Variance of `mean` (not of one observation). */
  variance: number;
}

/** The arm's mean and the variance of the mean. */
export const meanEstimate = (m: Moments): Estimate => ({
  mean: m.n > 0 ? m.sum / m.n : 0,
  variance: m.n > 0 ? sampleVar(m.n, m.sum, m.sumSq) / m.n : 0,
});

/**
 * A ratio metric Σy/Σz of one arm by the delta method (Deng et al. 2018, §3):
 * Var(ȳ/z̄) ≈ (σ²_y/μ_z² − 2·μ_y·σ_yz/μ_z³ + μ_y²·σ²_z/μ_z⁴) / n.
 */
export const ratioEstimate = (m: Moments): Estimate => {
  const { n } = m;
  const zSum = m.zSum ?? 0;
  if (!(n > 0) || zSum === 0) return { mean: 0, variance: 0 };
  const my = m.sum / n;
  const mz = zSum / n;
  const vy = sampleVar(n, m.sum, m.sumSq);
  const vz = sampleVar(n, zSum, m.zSumSq ?? 0);
  const cyz = sampleCov(n, m.sum, zSum, m.yzSum ?? 0);
  const variance = (vy / mz ** 2 - (2 * my * cyz) / mz ** 3 + (my ** 2 * vz) / mz ** 4) / n;
  return { mean: my / mz, variance: Math.max(0, variance) };
};

/**
 * CUPED's θ = cov(x, y)/var(x), pooled over the arms (Deng et al. 2013, §3.2: one θ for all
 * arms keeps the adjusted difference unbiased). 0 when the covariate does not vary.
 */
export const cupedTheta = (arms: readonly Moments[]): number => {
  let n = 0;
  let sx = 0;
  let sxx = 0;
  let sy = 0;
  let sxy = 0;
  for (const a of arms) {
    n += a.n;
    sx += a.xSum ?? 0;
    sxx += a.xSumSq ?? 0;
    sy += a.sum;
    sxy += a.xySum ?? 0;
  }
  const vx = sampleVar(n, sx, sxx);
  return vx > 0 ? sampleCov(n, sx, sy, sxy) / vx : 0;
};

/**
 * The CUPED-adjusted mean ȳ − θ(x̄ − μₓ), μₓ the pooled covariate mean, and its variance
 * (σ²_y − 2θσ_xy + θ²σ²_x)/n — with the optimal θ, σ²_y(1 − ρ²)/n.
 */
export const cupedEstimate = (m: Moments, theta: number, pooledXMean: number): Estimate => {
  if (!(m.n > 0)) return { mean: 0, variance: 0 };
  const xSum = m.xSum ?? 0;
  const vy = sampleVar(m.n, m.sum, m.sumSq);
  const vx = sampleVar(m.n, xSum, m.xSumSq ?? 0);
  const cxy = sampleCov(m.n, xSum, m.sum, m.xySum ?? 0);
  return {
    mean: m.sum / m.n - theta * (xSum / m.n - pooledXMean),
    variance: Math.max(0, vy - 2 * theta * cxy + theta * theta * vx) / m.n,
  };
};

export const TEST_METHODS = ['fixed', 'sequential'] as const;
export type TestMethod = (typeof TEST_METHODS)[number];

/**
 * GrowthBook's default tuning: the Gaussian mixture is tightest around this many observations.
 * Any value keeps the guarantee; only where the interval is narrowest moves.
 */
export const SEQUENTIAL_TUNING = 5000;

/**
 * The mixture's ρ² for the confidence sequence to be tightest at `tuning` observations
 * (Howard et al. 2021, eq. 15's approximation, as in GrowthBook's gbstats).
 */
export const sequentialRhoSquared = (alpha: number, tuning: number = SEQUENTIAL_TUNING): number =>
  (-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuning;

/**
 * Half-width of the Gaussian-mixture confidence sequence after `n` observations of an estimate
 * whose variance is `variance` (so σ² = n·variance per observation):
 * σ · √( 2(nρ² + 1)/(n²ρ²) · ln(√(nρ² + 1)/α) ).
 */
export const sequentialHalfWidth = (variance: number, n: number, alpha: number, tuning?: number): number => {
  if (!(n > 0)) return Infinity;
  const rho2 = sequentialRhoSquared(alpha, tuning);
  const s2 = variance * n;
  return (
    Math.sqrt(s2) *
    Math.sqrt(((2 * (n * rho2 + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(n * rho2 + 1) / alpha))
  );
};

/**
 * The always-valid p-value of the same mixture: 1/Λₙ with
 * Λₙ = exp(n²ρ²Δ²/(2σ²(nρ² + 1))) / √(nρ² + 1) — the smallest α whose sequence excludes 0
 * (for this ρ). Capped at 1.
 */
export const sequentialPValue = (
  effect: number,
  variance: number,
  n: number,
  alpha: number,
  tuning?: number,
): number => {
  if (!(n > 0) || !(variance > 0)) return 1;
  const rho2 = sequentialRhoSquared(alpha, tuning);
  const s2 = variance * n;
  const logLambda =
    (n * n * rho2 * effect * effect) / (2 * s2 * (n * rho2 + 1)) - 0.5 * Math.log(n * rho2 + 1);
  return Math.min(1, Math.exp(-logLambda));
};

export interface Comparison {
  /** Treatment − control. */
  difference: number;
  ci: { lower: number; upper: number };
  pValue: number;
  /** Treatment/control − 1 (delta method), null when the control's mean is 0. */
  relative: { effect: number; ci: { lower: number; upper: number } } | null;
  significant: boolean;
}

export interface CompareOptions {
  method: TestMethod;
  /** Two-sided level: 0.05 gives 95 % intervals. */
  alpha: number;
  /** Sequential tuning (observations where the interval is tightest). */
  tuning?: number;
}

/** Interval and p-value of an effect with variance `variance` after `n` observations in all. */
const inferOn = (
  effect: number,
  variance: number,
  n: number,
  o: CompareOptions,
): { ci: { lower: number; upper: number }; pValue: number } => {
  if (!(variance > 0)) return { ci: { lower: effect, upper: effect }, pValue: effect === 0 ? 1 : 0 };
  if (o.method === 'sequential') {
    const h = sequentialHalfWidth(variance, n, o.alpha, o.tuning);
    return {
      ci: { lower: effect - h, upper: effect + h },
      pValue: sequentialPValue(effect, variance, n, o.alpha, o.tuning),
    };
  }
  const h = normalQuantile(1 - o.alpha / 2) * Math.sqrt(variance);
  return {
    ci: { lower: effect - h, upper: effect + h },
    pValue: Math.min(1, 2 * normalCdf(-Math.abs(effect) / Math.sqrt(variance))),
  };
};

/**
 * Treatment against control from two independent estimates: the absolute difference (variance
 * v₀ + v₁), and the relative effect by the delta method:
 * Var(μ₁/μ₀) ≈ v₁/μ₀² + μ₁²·v₀/μ₀⁴ (Deng et al. 2018, §4).
 */
export const compareEstimates = (
  control: Estimate,
  treatment: Estimate,
  n: number,
  options: CompareOptions,
): Comparison => {
  const difference = treatment.mean - control.mean;
  const abs = inferOn(difference, control.variance + treatment.variance, n, options);
  let relative: Comparison['relative'] = null;
  if (control.mean !== 0) {
    const effect = treatment.mean / control.mean - 1;
    const variance =
      treatment.variance / control.mean ** 2 + (treatment.mean ** 2 * control.variance) / control.mean ** 4;
    relative = { effect, ci: inferOn(effect, variance, n, options).ci };
  }
  return {
    difference,
    ci: abs.ci,
    pValue: abs.pValue,
    relative,
    significant: abs.ci.lower > 0 || abs.ci.upper < 0,
  };
};

export interface MetricArm {
  estimate: Estimate;
  comparison?: Comparison;
}

/**
 * Every arm of one metric against the first (control): plain means, ratios (when the moments
 * carry a denominator), CUPED-adjusted means (when asked and the moments carry a covariate).
 */
export const analyseMetric = (
  arms: readonly Moments[],
  options: CompareOptions & { ratio?: boolean; cuped?: boolean },
): { arms: MetricArm[]; theta?: number } => {
  const withCovariate = options.cuped === true && !options.ratio && arms.every((a) => a.xSum !== undefined);
  const theta = withCovariate ? cupedTheta(arms) : undefined;
  const nAll = arms.reduce((s, a) => s + a.n, 0);
  const pooledX = nAll > 0 ? arms.reduce((s, a) => s + (a.xSum ?? 0), 0) / nAll : 0;
  const estimateOf = (m: Moments): Estimate =>
    options.ratio
      ? ratioEstimate(m)
      : theta !== undefined
        ? cupedEstimate(m, theta, pooledX)
        : meanEstimate(m);
  const control = arms[0];
  const controlEstimate = control ? estimateOf(control) : undefined;
  const out = arms.map((m, i): MetricArm => {
    const estimate = i === 0 && controlEstimate ? controlEstimate : estimateOf(m);
    if (i === 0 || !control || !controlEstimate || !(m.n > 1) || !(control.n > 1)) return { estimate };
    return { estimate, comparison: compareEstimates(controlEstimate, estimate, control.n + m.n, options) };
  });
  return theta === undefined ? { arms: out } : { arms: out, theta };
};

/**
 * A guardrail is harmed when the difference is significant in the harmful direction: down for
 * a metric where higher is better, up for one where lower is better.
 */
export const isHarmed = (c: Comparison | undefined, higherIsBetter: boolean): boolean =>
  c !== undefined && (higherIsBetter ? c.ci.upper < 0 : c.ci.lower > 0);
