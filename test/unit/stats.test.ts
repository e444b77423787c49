import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  differenceInterval,
  experimentStats,
  gammaQ,
  lnGamma,
  normalCdf,
  sampleRatioMismatch,
  twoProportionZTest,
  Z_975,
} from '../../functions/core/stats';

/** |actual − expected| ≤ rel · |expected|: for tails, where absolute tolerances say nothing. */
const expectRelative = (actual: number, expected: number, rel: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

describe('normal CDF', () => {
  it('matches the standard normal table', () => {
    const table: [number, number][] = [
      [0, 0.5],
      [0.5, 0.6914624612740131],
      [1, 0.8413447460685429],
      [1.96, 0.9750021048517795],
      [2.33, 0.9900969244408357],
      [-1.96, 0.024997895148220435],
      [-3, 0.0013498980316300933],
      [6, 0.9999999990134123],
    ];
    for (const [x, p] of table) expect(normalCdf(x)).toBeCloseTo(p, 13);
  });

  it('keeps the digits of far tails (no 1 − Φ cancellation)', () => {
    expectRelative(normalCdf(-5), 2.866515718791933e-7, 1e-9);
    expectRelative(normalCdf(-8), 6.22096057427174e-16, 1e-7);
    expectRelative(normalCdf(-20), 2.7536241186061556e-89, 1e-7);
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(40)).toBe(1);
  });

  it('is symmetric and puts 95 % within ±1.96', () => {
    for (const x of [0.1, 0.7, 1.3, 2.2, 3.9]) expect(normalCdf(x) + normalCdf(-x)).toBeCloseTo(1, 14);
    expect(normalCdf(Z_975) - normalCdf(-Z_975)).toBeCloseTo(0.95, 14);
  });
});

describe('chi-square survival', () => {
  it('equals the closed forms for 2 and 4 degrees of freedom (computed by hand)', () => {
    // df 2: P(X > x) = e^(−x/2); df 4: e^(−x/2)(1 + x/2).
    for (const x of [0.01, 0.5, 1, 3, 7.5, 20, 80]) {
      expectRelative(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-12);
      expectRelative(chiSquareSurvival(x, 4), Math.exp(-x / 2) * (1 + x / 2), 1e-12);
    }
  });

  it('equals 2·Φ(−√x) for 1 degree of freedom (an independent implementation)', () => {
    for (const x of [0.001, 0.5, 2, 3.841458820694124, 9, 25, 50, 100])
      expectRelative(chiSquareSurvival(x, 1), 2 * normalCdf(-Math.sqrt(x)), 1e-7);
    // Far tails against reference values (Q(½, x/2) to full precision).
    expectRelative(chiSquareSurvival(50, 1), 1.537459794428033e-12, 1e-12);
    expectRelative(chiSquareSurvival(100, 3), 1.5541594313896026e-21, 1e-12);
  });

  it('gives the textbook critical values', () => {
    const table: [number, number, number][] = [
      [3.841458820694124, 1, 0.05],
      [10.827566170662733, 1, 0.001],
      [5.991464547107979, 2, 0.05],
      [7.814727903251178, 3, 0.05],
      [23.209251158954356, 10, 0.01],
    ];
    for (const [x, df, p] of table) expect(chiSquareSurvival(x, df)).toBeCloseTo(p, 12);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });

  it('rests on a sound Γ', () => {
    expect(Math.exp(lnGamma(5))).toBeCloseTo(24, 10);
    expect(Math.exp(lnGamma(0.5))).toBeCloseTo(Math.sqrt(Math.PI), 13);
    expect(Math.exp(lnGamma(0.25))).toBeCloseTo(3.625609908221908, 12);
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 14);
    expect(Number.isNaN(gammaQ(0, 1))).toBe(true);
  });
});

describe('two proportions', () => {
  // Textbook example: control 200/1000 converts, variant 250/1000.
  const control = { exposures: 1000, conversions: 200 };
  const variant = { exposures: 1000, conversions: 250 };

  it('z-test with pooled standard error, two-sided (by hand: z = 0.05 / √(0.225·0.775·2/1000) ≈ 2.6774)', () => {
    const pooled = 450 / 2000;
    const z = 0.05 / Math.sqrt(pooled * (1 - pooled) * (2 / 1000));
    const test = twoProportionZTest(control, variant);
    expect(test?.z).toBeCloseTo(z, 12);
    expect(test?.z).toBeCloseTo(2.6774, 4);
    expect(test?.pValue).toBeCloseTo(0.0074196, 6);
    // Symmetric: swapping the groups flips z, not the p-value.
    expect(twoProportionZTest(variant, control)?.pValue).toBeCloseTo(test?.pValue as number, 14);
  });

  it('a non-significant difference: 120/1000 vs 100/1000 (z ≈ 1.4293, p ≈ 0.1529)', () => {
    const test = twoProportionZTest(
      { exposures: 1000, conversions: 100 },
      { exposures: 1000, conversions: 120 },
    );
    expect(test?.z).toBeCloseTo(1.4293, 4);
    expect(test?.pValue).toBeCloseTo(0.152918, 6);
  });

  it('95 % Wald interval of the difference (by hand)', () => {
    const se = Math.sqrt((0.25 * 0.75) / 1000 + (0.2 * 0.8) / 1000);
    const ci = differenceInterval(control, variant);
    expect(ci?.lower).toBeCloseTo(0.05 - 1.959963984540054 * se, 12);
    expect(ci?.upper).toBeCloseTo(0.05 + 1.959963984540054 * se, 12);
    expect(ci?.lower).toBeCloseTo(0.013464, 6);
    expect(ci?.upper).toBeCloseTo(0.086536, 6);
  });

  it('has no answer without exposures, and p = 1 when both rates are 0 or 1', () => {
    expect(twoProportionZTest({ exposures: 0, conversions: 0 }, variant)).toBeUndefined();
    expect(differenceInterval(control, { exposures: 0, conversions: 0 })).toBeUndefined();
    expect(twoProportionZTest({ exposures: 10, conversions: 0 }, { exposures: 20, conversions: 0 })).toEqual({
      z: 0,
      pValue: 1,
    });
    expect(
      twoProportionZTest({ exposures: 10, conversions: 10 }, { exposures: 5, conversions: 5 })?.pValue,
    ).toBe(1);
  });
});

describe('sample ratio mismatch', () => {
  it('50,000 vs 51,000 at 50/50: χ² = 2·500²/50,500 ≈ 9.901, p ≈ 0.00165, not flagged', () => {
    const srm = sampleRatioMismatch([50_000, 51_000], [50, 50]);
    expect(srm.chiSquare).toBeCloseTo((2 * 500 * 500) / 50_500, 10);
    expect(srm.df).toBe(1);
    expect(srm.pValue).toBeCloseTo(0.0016519, 6);
    expect(srm.flagged).toBe(false);
  });

  it('flags a split below p = 0.001, with relative weights', () => {
    const srm = sampleRatioMismatch([50_000, 52_000], [1, 1]);
    expect(srm.chiSquare).toBeCloseTo((2 * 1000 * 1000) / 51_000, 10);
    expect(srm.flagged).toBe(true);
    // 3 arms weighted 2:1:1 observed exactly as expected.
    expect(sampleRatioMismatch([2000, 1000, 1000], [50, 25, 25])).toMatchObject({
      chiSquare: 0,
      df: 2,
      pValue: 1,
    });
    // By hand: expected 1000/2000/1000 for 4000 at 1:2:1 → χ² = 0.1 + 0.05 + 0.4 = 0.55.
    const three = sampleRatioMismatch([1010, 2010, 980], [1, 2, 1]);
    expect(three.chiSquare).toBeCloseTo(0.55, 12);
    expect(three.pValue).toBeCloseTo(Math.exp(-0.55 / 2), 12);
  });

  it('has nothing to test without exposures, and flags exposures in a zero-weight arm', () => {
    expect(sampleRatioMismatch([0, 0], [1, 1])).toMatchObject({ pValue: null, flagged: false });
    expect(sampleRatioMismatch([10, 10, 0], [1, 1, 0])).toMatchObject({ df: 1, pValue: 1, flagged: false });
    expect(sampleRatioMismatch([10, 10, 1], [1, 1, 0])).toMatchObject({
      pValue: 0,
      flagged: true,
      chiSquare: null,
    });
  });
});

describe('experiment statistics', () => {
  it('reports every variant against the first (control), and the method', () => {
    const stats = experimentStats([
      { id: 'A', weight: 50, exposures: 1000, conversions: 200 },
      { id: 'B', weight: 50, exposures: 1000, conversions: 250 },
      { id: 'C', weight: 0, exposures: 0, conversions: 0 },
    ]);
    expect(stats.control).toBe('A');
    expect(stats.method.test).toMatch(/two-proportion z-test/);
    expect(stats.method.confidenceInterval).toMatch(/difference/);
    const [a, b, c] = stats.variants;
    expect(a).toEqual({ id: 'A', weight: 50, exposures: 1000, conversions: 200, rate: 0.2 });
    expect(b?.rate).toBe(0.25);
    expect(b?.lift).toBeCloseTo(0.25, 12);
    expect(b?.difference).toBeCloseTo(0.05, 12);
    expect(b?.pValue).toBeCloseTo(0.0074196, 6);
    expect(b?.ci?.lower).toBeGreaterThan(0);
    expect(c).toMatchObject({ rate: null, lift: null, difference: null, ci: null, pValue: null });
    expect(stats.srm).toMatchObject({ df: 1, pValue: 1, flagged: false });
  });

  it('has no lift against a control that never converts', () => {
    const stats = experimentStats([
      { id: 'A', weight: 1, exposures: 100, conversions: 0 },
      { id: 'B', weight: 1, exposures: 100, conversions: 5 },
    ]);
    expect(stats.variants[1]).toMatchObject({ rate: 0.05, lift: null, difference: 0.05 });
  });
});
