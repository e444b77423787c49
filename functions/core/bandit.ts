/**
 * Multi-armed bandits by Thompson sampling, with an exploration floor. Pure and deterministic:
 * every random draw comes from a seeded generator, so a schedule run, a result and a test give
 * the same numbers for the same counts and seed.
 *
 * Thompson sampling (Thompson 1933; Chapelle & Li 2011, "An Empirical Evaluation of Thompson
 * Sampling") sends each arm the share of traffic equal to its posterior probability of being
 * the best arm. Conversion metrics use Beta(1 + conversions, 1 + non-conversions) posteriors;
 * count and value metrics a normal posterior N(mean, variance of the mean). The floor keeps
 * every arm at least `floor` of the traffic, so an arm that started unlucky is still measured
 * (and the final estimates stay unbiased enough to read) — GrowthBook's bandits do the same.
 */
import type { Estimate } from './metric-stats';

/** sfc32 seeded by a splitmix32 of the seed: small, fast, good enough for simulation. */
export const seededRandom = (seed: number): (() => number) => {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
};

/** A standard normal draw (Box–Muller). */
export const normalDraw = (random: () => number): number => {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** A Gamma(shape, 1) draw: Marsaglia & Tsang 2000 (shape < 1 by the boost U^(1/shape)). */
export const gammaDraw = (random: () => number, shape: number): number => {
  if (shape < 1) return gammaDraw(random, shape + 1) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalDraw(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
};

/** A Beta(a, b) draw, as X/(X + Y) of two gamma draws. */
export const betaDraw = (random: () => number, a: number, b: number): number => {
  const x = gammaDraw(random, a);
  return x / (x + gammaDraw(random, b));
};

/** An arm's posterior: Beta for conversions, normal for means. */
export type Posterior =
  | { kind: 'beta'; alpha: number; beta: number }
  | { kind: 'normal'; estimate: Estimate };

export const conversionPosterior = (exposures: number, conversions: number): Posterior => ({
  kind: 'beta',
  alpha: 1 + conversions,
  beta: 1 + Math.max(0, exposures - conversions),
});

const draw = (random: () => number, p: Posterior): number =>
  p.kind === 'beta'
    ? betaDraw(random, p.alpha, p.beta)
    : p.estimate.mean + Math.sqrt(p.estimate.variance) * normalDraw(random);

export const BEST_DRAWS = 10_000;

/**
 * Each arm's posterior probability of being the best, by Monte Carlo with `draws` joint draws
 * from a generator seeded by `seed` (ties go to the lower index, so the shares sum to 1).
 */
export const probabilityBest = (
  posteriors: readonly Posterior[],
  seed: number,
  draws: number = BEST_DRAWS,
): number[] => {
  const wins = posteriors.map(() => 0);
  if (posteriors.length === 0) return wins;
  const random = seededRandom(seed);
  for (let i = 0; i < draws; i++) {
    let best = 0;
    let bestValue = -Infinity;
    posteriors.forEach((p, k) => {
      const v = draw(random, p);
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    });
    wins[best] = (wins[best] as number) + 1;
  }
  return wins.map((w) => w / draws);
};

/** The default exploration floor: each arm keeps at least this share of the traffic. */
export const DEFAULT_EXPLORATION_FLOOR = 0.05;

/**
 * Thompson weights with a floor: wᵢ = floor + (1 − k·floor)·P(best)ᵢ, so Σw = 1 and no arm
 * falls below the floor. The floor is capped at 1/k (then every arm gets an even share).
 */
export const thompsonWeights = (probabilities: readonly number[], floor: number): number[] => {
  const k = probabilities.length;
  if (k === 0) return [];
  const f = Math.min(Math.max(floor, 0), 1 / k);
  return probabilities.map((p) => f + (1 - k * f) * p);
};
