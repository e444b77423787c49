import { describe, expect, it } from 'vitest';
import { normalDraw, seededRandom } from '../../functions/core/bandit';
import {
  analyseMetric,
  compareEstimates,
  cupedEstimate,
  cupedTheta,
  isHarmed,
  type MetricArm,
  type Moments,
  meanEstimate,
  momentsOf,
  normalQuantile,
  ratioEstimate,
  sequentialHalfWidth,
  sequentialPValue,
  sequentialRhoSquared,
} from '../../functions/core/metric-stats';
import { differenceInterval, twoProportionZTest } from '../../functions/core/stats';

describe('normal quantile', () => {
  it('matches the standard normal table (Abramowitz & Stegun 26.2)', () => {
    const table: [number, number][] = [
      [0.5, 0],
      [0.9, 1.2815515655446004],
      [0.95, 1.6448536269514722],
      [0.975, 1.959963984540054],
      [0.995, 2.5758293035489004],
      [0.05, -1.6448536269514722],
      [0.999999, 4.753424308822899],
    ];
    for (const [p, x] of table) expect(normalQuantile(p)).toBeCloseTo(x, 10);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 8);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(Number.isNaN(normalQuantile(1.5))).toBe(true);
  });
});

describe('means and the delta method', () => {
  it('gives the mean and the variance of the mean from sums', () => {
    // y = 1, 2, 3, 4: mean 2.5, sample variance 5/3, variance of the mean 5/12.
    const e = meanEstimate(momentsOf([1, 2, 3, 4]));
    expect(e.mean).toBe(2.5);
    expect(e.variance).toBeCloseTo(5 / 12, 14);
  });

  it('computes a ratio metric by Deng et al. 2018 (worked by hand)', () => {
    // y = 2,0,3,1 over z = 1,1,2,2: μy = μz = 1.5, σ²y = 5/3, σ²z = 1/3, σyz = 1/3;
    // Var = (σ²y/μz² − 2μyσyz/μz³ + μy²σ²z/μz⁴)/n = (20/27 − 8/27 + 4/27)/4 = 4/27.
    const e = ratioEstimate(momentsOf([2, 0, 3, 1], undefined, [1, 1, 2, 2]));
    expect(e.mean).toBe(1);
    expect(e.variance).toBeCloseTo(4 / 27, 14);
  });

  it('reduces to the plain mean when every denominator is 1', () => {
    const y = [3, 1, 4, 1, 5, 9, 2, 6];
    const ratio = ratioEstimate(
      momentsOf(
        y,
        undefined,
        y.map(() => 1),
      ),
    );
    const mean = meanEstimate(momentsOf(y));
    expect(ratio.mean).toBeCloseTo(mean.mean, 14);
    expect(ratio.variance).toBeCloseTo(mean.variance, 14);
  });

  it('matches the spread of the ratio over repeated samples (seeded simulation)', () => {
    // Sessions z ~ 1 + Poisson-ish, clicks y ≈ 0.3·z + noise: the delta variance must match the
    // variance of Σy/Σz across 1,000 samples of 400 persons within 12 %.
    const random = seededRandom(7);
    const ratios: number[] = [];
    const variances: number[] = [];
    for (let r = 0; r < 1000; r++) {
      const y: number[] = [];
      const z: number[] = [];
      for (let i = 0; i < 400; i++) {
        const zi = 1 + Math.floor(random() * 6);
        z.push(zi);
        y.push(Math.max(0, Math.round(0.3 * zi + normalDraw(random))));
      }
      const e = ratioEstimate(momentsOf(y, undefined, z));
      ratios.push(e.mean);
      variances.push(e.variance);
    }
    const mean = ratios.reduce((s, v) => s + v, 0) / ratios.length;
    const empirical = ratios.reduce((s, v) => s + (v - mean) ** 2, 0) / (ratios.length - 1);
    const delta = variances.reduce((s, v) => s + v, 0) / variances.length;
    expect(Math.abs(delta / empirical - 1)).toBeLessThan(0.12);
  });

  it('agrees with the existing Wald interval for conversions (n/(n−1) aside)', () => {
    const control = { exposures: 1000, conversions: 100 };
    const variant = { exposures: 1000, conversions: 130 };
    const binary = (n: number, x: number) => momentsOf(Array.from({ length: n }, (_, i) => (i < x ? 1 : 0)));
    const c = compareEstimates(meanEstimate(binary(1000, 100)), meanEstimate(binary(1000, 130)), 2000, {
      method: 'fixed',
      alpha: 0.05,
    });
    const wald = differenceInterval(control, variant) as { lower: number; upper: number };
    expect(c.difference).toBeCloseTo(0.03, 14);
    expect(c.ci.lower).toBeCloseTo(wald.lower, 4);
    expect(c.ci.upper).toBeCloseTo(wald.upper, 4);
    // The unpooled z is a hair larger than the pooled one: same conclusion, p within 0.005.
    expect(Math.abs(c.pValue - (twoProportionZTest(control, variant)?.pValue as number))).toBeLessThan(0.005);
  });

  it('gives the relative effect with the delta-method variance', () => {
    // μ₀ = 10 (v₀ = 0.04), μ₁ = 11 (v₁ = 0.05): Var(μ₁/μ₀) = 0.05/100 + 121·0.04/10⁴ = 0.000984.
    const c = compareEstimates({ mean: 10, variance: 0.04 }, { mean: 11, variance: 0.05 }, 1000, {
      method: 'fixed',
      alpha: 0.05,
    });
    expect(c.relative?.effect).toBeCloseTo(0.1, 14);
    const half = 1.959963984540054 * Math.sqrt(0.000984);
    expect(c.relative?.ci.lower).toBeCloseTo(0.1 - half, 12);
    expect(c.relative?.ci.upper).toBeCloseTo(0.1 + half, 12);
    // Absolute: 1 ± 1.96·√0.09, p = 2Φ(−1/0.3).
    expect(c.ci.lower).toBeCloseTo(1 - 1.959963984540054 * 0.3, 12);
    expect(c.pValue).toBeCloseTo(0.000858, 5);
    expect(c.significant).toBe(true);
  });

  it('flags a guardrail only for significant harm in its direction', () => {
    const down = compareEstimates({ mean: 10, variance: 0.01 }, { mean: 9, variance: 0.01 }, 100, {
      method: 'fixed',
      alpha: 0.05,
    });
    expect(isHarmed(down, true)).toBe(true);
    expect(isHarmed(down, false)).toBe(false);
    const flat = compareEstimates({ mean: 10, variance: 1 }, { mean: 9.9, variance: 1 }, 100, {
      method: 'fixed',
      alpha: 0.05,
    });
    expect(isHarmed(flat, true)).toBe(false);
    expect(isHarmed(undefined, true)).toBe(false);
  });
});

describe('sequential testing (Howard et al. 2021 normal mixture)', () => {
  it('equals the normal-mixture boundary of Howard et al. in their parametrisation', () => {
    // Howard et al. (2021), two-sided normal mixture for unit-variance sums Sₜ:
    // |Sₜ| < √((t + ρ)·ln((t + ρ)/(ρα²))), ρ the mixture's precision; on the mean, divide by t.
    // GrowthBook's parametrisation uses ρ_GB² = 1/ρ.
    for (const [t, alpha] of [
      [100, 0.05],
      [5000, 0.05],
      [123_456, 0.01],
      [20, 0.1],
    ] as const) {
      const rhoH = 1 / sequentialRhoSquared(alpha);
      const howard = Math.sqrt((t + rhoH) * Math.log((t + rhoH) / (rhoH * alpha * alpha))) / t;
      expect(sequentialHalfWidth(1 / t, t, alpha)).toBeCloseTo(howard, 12);
    }
  });

  it('tunes ρ as GrowthBook does (reference value for α = 0.05, 5000 observations)', () => {
    // (−2 ln 0.05 + ln(−2 ln 0.05 + 1))/5000 = (5.99146 + 1.94469)/5000.
    expect(sequentialRhoSquared(0.05)).toBeCloseTo(0.001587230920347513, 15);
  });

  it('is wider than the fixed interval, and its p-value is where the sequence touches 0', () => {
    const n = 5000;
    const variance = 1 / n;
    expect(sequentialHalfWidth(variance, n, 0.05)).toBeGreaterThan(1.959963984540054 * Math.sqrt(variance));
    // At the p-value's level (same ρ) the half-width equals the effect.
    const effect = 0.05;
    const p = sequentialPValue(effect, variance, n, 0.05);
    const rho2 = sequentialRhoSquared(0.05);
    const s2 = variance * n;
    const halfAtP = Math.sqrt(
      s2 * ((2 * (n * rho2 + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(n * rho2 + 1) / p),
    );
    expect(halfAtP).toBeCloseTo(effect, 12);
    expect(sequentialPValue(0, variance, n, 0.05)).toBe(1);
  });

  it('keeps the false-positive rate under daily peeking at or below α; the fixed test does not', () => {
    // A/A tests: 10 % conversion in both arms, 300 persons per arm per day, read every day for
    // 28 days. A method "fires" if any daily read is significant at α = 0.05.
    const alpha = 0.05;
    const runs = 400;
    const random = seededRandom(20_261_129);
    let fixedFired = 0;
    let sequentialFired = 0;
    for (let r = 0; r < runs; r++) {
      const arms = [
        { n: 0, x: 0 },
        { n: 0, x: 0 },
      ];
      let fixed = false;
      let sequential = false;
      for (let day = 0; day < 28; day++) {
        for (const arm of arms)
          for (let i = 0; i < 300; i++) {
            arm.n++;
            if (random() < 0.1) arm.x++;
          }
        const moments = arms.map((a) => ({ n: a.n, sum: a.x, sumSq: a.x }));
        fixed ||=
          analyseMetric(moments, { method: 'fixed', alpha }).arms[1]?.comparison?.significant === true;
        sequential ||=
          analyseMetric(moments, { method: 'sequential', alpha }).arms[1]?.comparison?.significant === true;
      }
      if (fixed) fixedFired++;
      if (sequential) sequentialFired++;
    }
    expect(sequentialFired / runs).toBeLessThanOrEqual(alpha);
    // Peeking 28 times inflates the fixed test's error several-fold (Armitage et al. 1969).
    expect(fixedFired / runs).toBeGreaterThan(2 * alpha);
  });
});

describe('CUPED (Deng et al. 2013)', () => {
  const poisson = (random: () => number, lambda: number) => {
    // Knuth's method (small λ).
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= random();
    } while (p > l);
    return k - 1;
  };

  it('computes θ = cov(x, y)/var(x) over the arms pooled (worked by hand)', () => {
    // x = 1,2,3,4 ; y = 2,4,6,8 → θ = 2, and the adjusted variance is 0.
    const a = momentsOf([2, 4], [1, 2]);
    const b = momentsOf([6, 8], [3, 4]);
    expect(cupedTheta([a, b])).toBeCloseTo(2, 14);
    const adjusted = cupedEstimate(momentsOf([2, 4, 6, 8], [1, 2, 3, 4]), 2, 2.5);
    expect(adjusted.mean).toBeCloseTo(5, 14);
    expect(adjusted.variance).toBeCloseTo(0, 14);
  });

  it('reduces the variance of the effect by 1 − ρ² (seeded simulation)', () => {
    // Each person has a rate λ ~ Exp(1)·2; x = their events in the 14 days before exposure,
    // y = their events in the 7 days after: daily counts, as Pulse keeps them.
    const random = seededRandom(42);
    const plain: number[] = [];
    const adjusted: number[] = [];
    let rhoSum = 0;
    let estimatedRatio = 0;
    const reps = 150;
    for (let r = 0; r < reps; r++) {
      const arms = [0, 1].map(() => {
        const x: number[] = [];
        const y: number[] = [];
        for (let i = 0; i < 1000; i++) {
          const lambda = -Math.log(1 - random()) * 0.2;
          x.push(poisson(random, 14 * lambda));
          y.push(poisson(random, 7 * lambda));
        }
        return momentsOf(y, x);
      });
      const all = arms.reduce((s, a) => ({
        n: s.n + a.n,
        sum: s.sum + a.sum,
        sumSq: s.sumSq + a.sumSq,
        xSum: (s.xSum ?? 0) + (a.xSum ?? 0),
        xSumSq: (s.xSumSq ?? 0) + (a.xSumSq ?? 0),
        xySum: (s.xySum ?? 0) + (a.xySum ?? 0),
      })) as Required<Moments>;
      const vx = (all.xSumSq - all.xSum ** 2 / all.n) / (all.n - 1);
      const vy = (all.sumSq - all.sum ** 2 / all.n) / (all.n - 1);
      const cxy = (all.xySum - (all.xSum * all.sum) / all.n) / (all.n - 1);
      rhoSum += cxy / Math.sqrt(vx * vy);
      const plainRun = analyseMetric(arms, { method: 'fixed', alpha: 0.05 }).arms[1] as MetricArm;
      const cupedRun = analyseMetric(arms, { method: 'fixed', alpha: 0.05, cuped: true })
        .arms[1] as MetricArm;
      plain.push(plainRun.comparison?.difference as number);
      adjusted.push(cupedRun.comparison?.difference as number);
      estimatedRatio += cupedRun.estimate.variance / plainRun.estimate.variance;
    }
    const variance = (v: number[]) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
    };
    const rho = rhoSum / reps;
    expect(rho).toBeGreaterThan(0.4);
    const ratio = variance(adjusted) / variance(plain);
    expect(Math.abs(ratio - (1 - rho * rho))).toBeLessThan(0.05);
    // And each run's estimated variance says the same.
    expect(Math.abs(estimatedRatio / reps - (1 - rho * rho))).toBeLessThan(0.05);
  });

  it('ignores the covariate unless every arm carries one', () => {
    const r = analyseMetric([momentsOf([1, 2, 3]), momentsOf([2, 3, 4], [1, 1, 1])], {
      method: 'fixed',
      alpha: 0.05,
      cuped: true,
    });
    expect(r.theta).toBeUndefined();
  });
});
