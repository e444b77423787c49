/**
 * Validation of the propensity machinery on synthetic people whose conversion follows a known
 * logistic model: the fit recovers the coefficients within their standard errors, its held-out
 * AUC is within 0.01 of the oracle's (the true probabilities) on the same rows, and with pure
 * noise the gate refuses to publish. Seeded: every run sees the same data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelDefinition } from '../../../functions/core/models/definition';
import { auc, evaluate, judge, liftAt, logLoss } from '../../../functions/core/models/evaluation';
import { FEATURE_NAMES } from '../../../functions/core/models/features';
import { fitLogistic, sigmoid } from '../../../functions/core/models/logistic';
import { normal, prng } from '../../../functions/core/models/random';
import { fitScaler, rawCoefficients, standardise } from '../../../functions/core/models/standardise';
import { splitIndices, trainVersion } from '../../../functions/core/models/train';

/** Features with their own means and scales; conversion ~ Bernoulli(σ(β₀ + x·β)). */
const TRUE_BETA = [-1.5, 0.8, -0.5, 0.3, 0];
const MEANS = [2, -1, 0, 5];
const SCALES = [1, 2, 0.5, 3];
const synthetic = (n: number, seed: number, beta = TRUE_BETA) => {
  const random = prng(seed);
  const rows: Float64Array[] = [];
  const labels: (0 | 1)[] = [];
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Float64Array.from(MEANS, (m, j) => m + (SCALES[j] as number) * normal(random));
    let z = beta[0] as number;
    for (let j = 0; j < x.length; j++) z += (beta[j + 1] as number) * (x[j] as number);
    const p = sigmoid(z);
    rows.push(x);
    truth.push(p);
    labels.push(random() < p ? 1 : 0);
  }
  return { rows, labels, truth };
};

const definition = (over: Partial<ModelDefinition> = {}): ModelDefinition => ({
  name: 'buyers',
  kind: 'propensity',
  target: { type: 'conversion' },
  horizonDays: 14,
  schedule: 'manual',
  tags: [],
  lambda: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

/** Synthetic rows padded to the model's feature width (the extra columns are noise). */
const asTrainingRows = (rows: Float64Array[], labels: (0 | 1)[], seed: number) => {
  const random = prng(seed);
  return rows.map((x, i) => {
    const full = new Float64Array(FEATURE_NAMES.length);
    full.set(x);
    for (let j = x.length; j < full.length; j++) full[j] = normal(random);
    return { x: full, y: labels[i] as 0 | 1 };
  });
};

describe('logistic regression (IRLS, L2)', () => {
  it('recovers known coefficients within their standard errors', () => {
    const { rows, labels } = synthetic(20_000, 7);
    const scaler = fitScaler(rows);
    const fit = fitLogistic(
      rows.map((x) => standardise(scaler, x)),
      labels,
      { lambda: 0.01 },
    );
    expect(fit.converged).toBe(true);
    const raw = rawCoefficients(scaler, fit.coefficients);
    // Slopes: |β̂ − β| within 3 standard errors each, and the errors are those of a 20,000-row fit.
    for (let k = 1; k < TRUE_BETA.length; k++) {
      const se = (fit.standardErrors[k] as number) / (scaler.scales[k - 1] as number);
      expect(se).toBeGreaterThan(0);
      expect(se).toBeLessThan(0.1);
      expect(Math.abs((raw[k] as number) - (TRUE_BETA[k] as number))).toBeLessThan(3 * se);
    }
    expect(raw[0]).toBeCloseTo(TRUE_BETA[0] as number, 0);
  });

  it('matches the oracle: held-out AUC within 0.01 of the true probabilities’ on the same rows', () => {
    const { rows, labels, truth } = synthetic(20_000, 11);
    const version = trainVersion(
      definition(),
      { training: asTrainingRows(rows, labels, 3), current: [] },
      { now: new Date('2026-03-01T00:00:00Z'), seed: 5 },
    );
    const { test } = splitIndices(rows.length, 0.2, 5);
    const oracle = auc(
      test.map((i) => truth[i] as number),
      test.map((i) => labels[i] as number),
    );
    expect(version.evaluation?.auc).toBeGreaterThan(0.7);
    expect(Math.abs((version.evaluation?.auc as number) - oracle)).toBeLessThan(0.01);
    expect(version.gate).toEqual({ passed: true, reasons: [] });
    expect(version.evaluation?.logLoss).toBeLessThan(version.evaluation?.baseLogLoss as number);
    expect(version.evaluation?.liftTop20).toBeGreaterThan(1.3);
  });

  it('refuses to publish a model of pure noise', () => {
    const { rows } = synthetic(10_000, 13);
    const random = prng(99);
    const labels = rows.map(() => (random() < 0.3 ? 1 : 0) as 0 | 1);
    const version = trainVersion(
      definition(),
      { training: asTrainingRows(rows, labels, 4), current: [] },
      { now: new Date('2026-03-01T00:00:00Z'), seed: 5 },
    );
    expect(version.gate.passed).toBe(false);
    expect(version.gate.reasons.join(' ')).toMatch(/AUC/);
    expect(Math.abs((version.evaluation?.auc as number) - 0.5)).toBeLessThan(0.05);
  });

  it('refuses when one outcome never happens', () => {
    const { rows } = synthetic(500, 17);
    const version = trainVersion(
      definition(),
      {
        training: asTrainingRows(
          rows,
          rows.map(() => 0),
          1,
        ),
        current: [],
      },
      { now: new Date('2026-03-01T00:00:00Z') },
    );
    expect(version.gate).toEqual({ passed: false, reasons: [expect.stringMatching(/both outcomes/)] });
  });
});

describe('evaluation', () => {
  const bruteAuc = (s: number[], y: number[]) => {
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < s.length; i++)
      for (let j = 0; j < s.length; j++)
        if (y[i] === 1 && y[j] === 0) {
          pairs++;
          wins += (s[i] as number) > (s[j] as number) ? 1 : s[i] === s[j] ? 0.5 : 0;
        }
    return wins / pairs;
  };

  it('AUC by ranks equals the pairwise definition, ties counted half', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }),
        (pairs) => {
          const s = pairs.map((p) => p[0]);
          const y = pairs.map((p) => (p[1] ? 1 : 0));
          if (!y.includes(1) || !y.includes(0)) expect(auc(s, y)).toBeNaN();
          else expect(auc(s, y)).toBeCloseTo(bruteAuc(s, y), 12);
        },
      ),
    );
  });

  it('log loss, lift and the gate on a small worked case', () => {
    expect(logLoss([0.5, 0.5], [1, 0])).toBeCloseTo(Math.log(2), 12);
    // Top 20 % of 10 = 2 rows, both positive; overall rate 0.4 → lift 2.5.
    const s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0];
    const y = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0];
    expect(liftAt(s, y, 0.2)).toBeCloseTo(2.5, 12);
    const e = evaluate(s, y, 0.4);
    expect(e.baseLogLoss).toBeCloseTo(-(0.4 * Math.log(0.4) + 0.6 * Math.log(0.6)), 12);
    expect(judge(e, { minAuc: 0.6, maxLogLossRatio: 1, minLiftTop20: 1.2, minPositives: 3 })).toEqual({
      passed: true,
      reasons: [],
    });
    expect(judge(e, { minAuc: 0.9, maxLogLossRatio: 0.5, minLiftTop20: 3, minPositives: 3 }).reasons).toEqual(
      [expect.stringMatching(/^AUC/), expect.stringMatching(/^log loss/), expect.stringMatching(/^lift/)],
    );
    expect(judge(e).reasons).toEqual([expect.stringMatching(/at least 10 of each class/)]);
  });
});
