/**
 * Experiment statistics. Pure, no dependencies.
 *
 * Per variant against the first variant (the control):
 * - rate = conversions / exposures;
 * - lift = (rate − controlRate) / controlRate (relative);
 * - difference = rate − controlRate, with a 95 % Wald confidence interval of the DIFFERENCE
 *   (unpooled standard error): d ± z₀.₉₇₅ · √(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀);
 * - pValue: two-proportion z-test, pooled standard error, two-sided:
 *   p̂ = (x₀+x₁)/(n₀+n₁), z = d / √(p̂(1−p̂)(1/n₀ + 1/n₁)), p = 2·Φ(−|z|).
 * Sample ratio mismatch: Pearson's chi-square goodness of fit of the exposures against the
 * weights, χ² = Σ (oᵢ − eᵢ)² / eᵢ with eᵢ = N·wᵢ/W, df = arms − 1, flagged when p < 0.001.
 *
 * The z-test's pooled error and the interval's unpooled one are the textbook pairing; near the
 * 5 % boundary the interval and the p-value can therefore disagree slightly.
 */

/** z for a two-sided 95 % interval: Φ⁻¹(0.975). */
export const Z_975 = 1.959963984540054;
export const SRM_THRESHOLD = 0.001;

/**
 * Standard normal CDF Φ(x): Hart's algorithm 5666 (1968) as given by G. West, "Better
 * approximations to cumulative normal functions" (2005) — absolute error below 1e-15, relative
 * error in the far tail below 1e-8. The tail is computed directly, so Φ(−8) ≈ 6.2e-16 keeps its
 * digits (no 1 − Φ cancellation).
 */
export const normalCdf = (x: number): number => {
  if (Number.isNaN(x)) return Number.NaN;
  const a = Math.abs(x);
  let tail: number;
  if (a > 37) tail = 0;
  else {
    const e = Math.exp((-a * a) / 2);
    if (a < 7.07106781186547) {
      let num = 3.52624965998911e-2 * a + 0.700383064443688;
      num = num * a + 6.37396220353165;
      num = num * a + 33.912866078383;
      num = num * a + 112.079291497871;
      num = num * a + 221.213596169931;
      num = num * a + 220.206867912376;
      let den = 8.83883476483184e-2 * a + 1.75566716318264;
      den = den * a + 16.064177579207;
      den = den * a + 86.7807322029461;
      den = den * a + 296.564248779674;
      den = den * a + 637.333633378831;
      den = den * a + 793.826512519948;
      den = den * a + 440.413735824752;
      tail = (e * num) / den;
    } else {
      // Continued fraction for the far tail.
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      tail = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
};

/** ln Γ(z) for z > 0: Lanczos approximation (g = 7, 9 terms), ~15 significant digits. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
export const lnGamma = (z: number): number => {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const zz = z - 1;
  let x = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) x += (LANCZOS[i] as number) / (zz + i);
  const t = zz + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(x);
};

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): the series for P when x < a + 1
 * (then Q = 1 − P does not cancel badly), else Lentz's continued fraction for Q directly
 * (Numerical Recipes §6.2), so small upper tails keep their precision.
 */
export const gammaQ = (a: number, x: number): number => {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - lnGamma(a));
  if (x < a + 1) {
    let ap = a;
    let term = 1 / a;
    let sum = term;
    for (let n = 0; n < MAX_ITERATIONS; n++) {
      ap += 1;
      term *= x / ap;
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * front));
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.min(1, Math.max(0, front * h));
};

/** P(X > x) for X ~ χ²(df): the p-value of a chi-square statistic. */
export const chiSquareSurvival = (x: number, df: number): number => (x <= 0 ? 1 : gammaQ(df / 2, x / 2));

export interface ZTest {
  z: number;
  pValue: number;
}

/**
 * Two-proportion z-test with pooled standard error, two-sided. `undefined` when either group
 * has no exposures. When the pooled rate is 0 or 1 both rates are equal: p = 1.
 */
export const twoProportionZTest = (
  control: { exposures: number; conversions: number },
  variant: { exposures: number; conversions: number },
): ZTest | undefined => {
  const n0 = control.exposures;
  const n1 = variant.exposures;
  if (!(n0 > 0) || !(n1 > 0)) return undefined;
  const p0 = control.conversions / n0;
  const p1 = variant.conversions / n1;
  const pooled = (control.conversions + variant.conversions) / (n0 + n1);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1));
  if (!(se > 0)) return { z: 0, pValue: 1 };
  const z = (p1 - p0) / se;
  return { z, pValue: Math.min(1, 2 * normalCdf(-Math.abs(z))) };
};

/** 95 % Wald interval of the difference p₁ − p₀ (unpooled standard error). */
export const differenceInterval = (
  control: { exposures: number; conversions: number },
  variant: { exposures: number; conversions: number },
  z: number = Z_975,
): { lower: number; upper: number } | undefined => {
  const n0 = control.exposures;
  const n1 = variant.exposures;
  if (!(n0 > 0) || !(n1 > 0)) return undefined;
  const p0 = control.conversions / n0;
  const p1 = variant.conversions / n1;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p0 * (1 - p0)) / n0);
  return { lower: p1 - p0 - z * se, upper: p1 - p0 + z * se };
};

export interface SrmResult {
  /** null when an arm of weight 0 received exposures (the statistic is infinite). */
  chiSquare: number | null;
  df: number;
  /** null when there is nothing to test yet (no exposures). */
  pValue: number | null;
  flagged: boolean;
}

/**
 * Sample ratio mismatch: chi-square goodness of fit of the observed exposures against the
 * weights. Arms with zero weight are left out unless they received exposures (then the split
 * is broken: p = 0).
 */
export const sampleRatioMismatch = (observed: readonly number[], weights: readonly number[]): SrmResult => {
  const total = observed.reduce((s, o) => s + o, 0);
  const weightSum = weights.reduce((s, w) => s + Math.max(w, 0), 0);
  if (!(total > 0) || !(weightSum > 0)) return { chiSquare: 0, df: 0, pValue: null, flagged: false };
  let chiSquare = 0;
  let arms = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i] as number;
    const w = weights[i] ?? 0;
    if (w <= 0) {
      if (o > 0) return { chiSquare: null, df: 0, pValue: 0, flagged: true };
      continue;
    }
    arms++;
    const e = (total * w) / weightSum;
    chiSquare += ((o - e) * (o - e)) / e;
  }
  const df = arms - 1;
  const pValue = df > 0 ? chiSquareSurvival(chiSquare, df) : 1;
  return { chiSquare, df, pValue, flagged: pValue < SRM_THRESHOLD };
};

export interface ArmCounts {
  id: string;
  weight: number;
  exposures: number;
  conversions: number;
}

export interface ArmResult {
  id: string;
  weight: number;
  exposures: number;
  conversions: number;
  /** conversions / exposures; null without exposures. */
  rate: number | null;
  /** The rest is against the control; absent on the control itself. */
  lift?: number | null;
  difference?: number | null;
  ci?: { lower: number; upper: number } | null;
  pValue?: number | null;
}

export const METHOD = {
  test: 'two-proportion z-test, pooled standard error, two-sided, against the first variant (control)',
  confidenceInterval:
    '95% Wald interval of the difference in conversion rate (variant − control), unpooled standard error',
  lift: '(rate − controlRate) / controlRate',
  srm: `Pearson chi-square goodness of fit of exposures against the weights (df = variants − 1), flagged when p < ${SRM_THRESHOLD}`,
} as const;

export interface ExperimentStats {
  control: string | undefined;
  method: typeof METHOD;
  variants: ArmResult[];
  srm: SrmResult;
}

const rateOf = (a: { exposures: number; conversions: number }): number | null =>
  a.exposures > 0 ? a.conversions / a.exposures : null;

/** Everything the results endpoint reports, from the counters per arm (the first is control). */
export const experimentStats = (arms: readonly ArmCounts[]): ExperimentStats => {
  const control = arms[0];
  const controlRate = control ? rateOf(control) : null;
  const variants = arms.map((arm, i): ArmResult => {
    const base: ArmResult = {
      id: arm.id,
      weight: arm.weight,
      exposures: arm.exposures,
      conversions: arm.conversions,
      rate: rateOf(arm),
    };
    if (i === 0 || !control) return base;
    const rate = base.rate;
    return {
      ...base,
      lift:
        rate !== null && controlRate !== null && controlRate > 0 ? (rate - controlRate) / controlRate : null,
      difference: rate !== null && controlRate !== null ? rate - controlRate : null,
      ci: differenceInterval(control, arm) ?? null,
      pValue: twoProportionZTest(control, arm)?.pValue ?? null,
    };
  });
  return {
    control: control?.id,
    method: METHOD,
    variants,
    srm: sampleRatioMismatch(
      arms.map((a) => a.exposures),
      arms.map((a) => a.weight),
    ),
  };
};
