import { describe, expect, it } from 'vitest';
import {
  betaDraw,
  conversionPosterior,
  DEFAULT_EXPLORATION_FLOOR,
  probabilityBest,
  seededRandom,
  thompsonWeights,
} from '../../functions/core/bandit';
import { lnGamma } from '../../functions/core/stats';

/**
 * P(B > A) for Beta posteriors in closed form (Evan Miller 2015, "Formulas for Bayesian A/B
 * Testing"): Σ_{i=0}^{αB−1} B(αA+i, βA+βB) / ((βB+i)·B(1+i, βB)·B(αA, βA)).
 */
const lnBeta = (a: number, b: number) => lnGamma(a) + lnGamma(b) - lnGamma(a + b);
const probBBeatsA = (aA: number, bA: number, aB: number, bB: number) => {
  let total = 0;
  for (let i = 0; i < aB; i++)
    total += Math.exp(lnBeta(aA + i, bA + bB) - Math.log(bB + i) - lnBeta(1 + i, bB) - lnBeta(aA, bA));
  return total;
};

describe('seeded draws', () => {
  it('repeat for the same seed and differ for another', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const c = seededRandom(2);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('give Beta draws with the right mean and variance', () => {
    const random = seededRandom(3);
    const draws = Array.from({ length: 20_000 }, () => betaDraw(random, 3, 7));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length;
    // Beta(3, 7): mean 0.3, variance αβ/((α+β)²(α+β+1)) = 21/1100.
    expect(mean).toBeCloseTo(0.3, 2);
    expect(variance).toBeCloseTo(21 / 1100, 3);
  });
});

describe('probability of being best', () => {
  it('matches the closed form for two Beta posteriors', () => {
    for (const [xA, nA, xB, nB] of [
      [20, 200, 30, 200],
      [5, 100, 5, 100],
      [100, 1000, 120, 1000],
    ] as const) {
      const pA = conversionPosterior(nA, xA);
      const pB = conversionPosterior(nB, xB);
      const [, mcB] = probabilityBest([pA, pB], 11);
      const exact = probBBeatsA(1 + xA, 1 + nA - xA, 1 + xB, 1 + nB - xB);
      // 10,000 draws: standard error ≤ 0.005.
      expect(Math.abs((mcB as number) - exact)).toBeLessThan(0.015);
    }
    // Reference value of the closed form itself: equal posteriors beat each other half the time.
    expect(probBBeatsA(6, 96, 6, 96)).toBeCloseTo(0.5, 10);
  });

  it('is deterministic for a seed and sums to 1', () => {
    const posteriors = [
      conversionPosterior(100, 10),
      conversionPosterior(100, 12),
      conversionPosterior(100, 8),
    ];
    const a = probabilityBest(posteriors, 5);
    expect(probabilityBest(posteriors, 5)).toEqual(a);
    expect(a.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
  });
});

describe('Thompson weights', () => {
  it('keep the exploration floor and sum to 1', () => {
    const w = thompsonWeights([1, 0, 0], 0.05);
    expect(w).toEqual([0.9, 0.05, 0.05].map((x) => expect.closeTo(x, 12)));
    expect(thompsonWeights([0.5, 0.5], 0.9)).toEqual([0.5, 0.5]);
  });

  it('have lower regret than an even split (seeded simulation)', () => {
    // Three arms converting at 4 %, 5 % and 7 %; 25 daily reallocations of 1,000 visitors.
    const rates = [0.04, 0.05, 0.07];
    const best = Math.max(...rates);
    const simulate = (bandit: boolean, seed: number) => {
      const random = seededRandom(seed);
      const counts = rates.map(() => ({ n: 0, x: 0 }));
      let regret = 0;
      let weights = rates.map(() => 1 / rates.length);
      for (let day = 0; day < 25; day++) {
        for (let v = 0; v < 1000; v++) {
          let u = random();
          let arm = 0;
          while (arm < weights.length - 1 && u >= (weights[arm] as number)) u -= weights[arm++] as number;
          const c = counts[arm] as { n: number; x: number };
          c.n++;
          if (random() < (rates[arm] as number)) c.x++;
          regret += best - (rates[arm] as number);
        }
        if (bandit)
          weights = thompsonWeights(
            probabilityBest(
              counts.map((c) => conversionPosterior(c.n, c.x)),
              seed * 100 + day,
              2000,
            ),
            DEFAULT_EXPLORATION_FLOOR,
          );
      }
      return regret;
    };
    let banditRegret = 0;
    let evenRegret = 0;
    for (let seed = 1; seed <= 10; seed++) {
      banditRegret += simulate(true, seed);
      evenRegret += simulate(false, seed);
    }
    expect(banditRegret).toBeLessThan(0.6 * evenRegret);
  });
});
