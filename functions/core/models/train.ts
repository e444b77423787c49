/**
 * One training run, pure: split the rows (seeded: a run repeats), standardise, fit, evaluate on
 * the held-out rows against the baselines, judge by the gate, and build the reference
 * distribution that turns scores into percentiles. Engagement fits no coefficients: its
 * "training" is the population's RFM distributions.
 */
import type { ModelDefinition, ModelVersion } from './definition';
import { DEFAULT_GATE, evaluate, type Gate, judge } from './evaluation';
import { FEATURE_NAMES } from './features';
import { fitLogistic, linear, sigmoid } from './logistic';
import { prng } from './random';
import { RFM_NAMES, type TrainingRow } from './rows';
import { quantileSample, rfmComposite } from './scoring';
import { fitScaler, standardise } from './standardise';

export const HELD_OUT_FRACTION = 0.2;

export interface RunRows {
  training: TrainingRow[];
  current: Float64Array[];
}

export interface TrainOptions {
  now: Date;
  seed?: number;
  gate?: Gate;
}

export type TrainedVersion = Omit<ModelVersion, 'version'>;

/** Indices shuffled by a seeded Fisher–Yates, then cut: the held-out part first. */
export const splitIndices = (
  n: number,
  fraction: number,
  seed: number,
): { train: number[]; test: number[] } => {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const cut = Math.round(n * fraction);
  return { test: order.slice(0, cut), train: order.slice(cut) };
};

const cutoffOf = (def: ModelDefinition, now: Date) =>
  new Date((Math.floor(now.getTime() / 86_400_000) - 1 - def.horizonDays) * 86_400_000)
    .toISOString()
    .slice(0, 10);

export const trainVersion = (def: ModelDefinition, rows: RunRows, options: TrainOptions): TrainedVersion => {
  const started = performance.now();
  const base = {
    name: def.name,
    kind: def.kind,
    trainedAt: options.now.toISOString(),
    cutoff: cutoffOf(def, options.now),
    horizonDays: def.horizonDays,
    ...(def.target && { target: def.target }),
  };
  if (def.kind === 'engagement') {
    const column = (j: number) => quantileSample(rows.current.map((r) => r[j] as number));
    const rfm = { recency: column(0), frequency: column(1), monetary: column(2) };
    const partial = { ...base, rfm, features: RFM_NAMES };
    // The composite's own distribution, for its percentile.
    const composite = rows.current.map((r) => rfmComposite(rfm, r).score);
    return {
      ...partial,
      trainingRows: rows.current.length,
      heldOutRows: 0,
      gate:
        rows.current.length > 0
          ? { passed: true, reasons: [] }
          : { passed: false, reasons: ['nobody to rank yet'] },
      reference: quantileSample(composite),
      published: false,
      trainingMs: performance.now() - started,
    };
  }
  const n = rows.training.length;
  const refuse = (reason: string): TrainedVersion => ({
    ...base,
    trainingRows: n,
    heldOutRows: 0,
    features: FEATURE_NAMES,
    gate: { passed: false, reasons: [reason] },
    reference: [],
    published: false,
    trainingMs: performance.now() - started,
  });
  const positives = rows.training.reduce((a, r) => a + r.y, 0);
  if (positives === 0 || positives === n)
    return refuse(`${n} training rows, ${positives} positive: both outcomes are needed`);
  const { train, test } = splitIndices(n, HELD_OUT_FRACTION, options.seed ?? 1);
  const trainRows = train.map((i) => (rows.training[i] as TrainingRow).x);
  const trainLabels = train.map((i) => (rows.training[i] as TrainingRow).y);
  const scaler = fitScaler(trainRows);
  const fit = fitLogistic(
    trainRows.map((x) => standardise(scaler, x)),
    trainLabels,
    { lambda: def.lambda },
  );
  const trainingRate = trainLabels.reduce((a: number, b) => a + b, 0) / trainLabels.length;
  const predict = (x: Float64Array) => sigmoid(linear(fit.coefficients, standardise(scaler, x)));
  const evaluation = evaluate(
    test.map((i) => predict((rows.training[i] as TrainingRow).x)),
    test.map((i) => (rows.training[i] as TrainingRow).y),
    trainingRate,
  );
  const gate = judge(evaluation, options.gate ?? DEFAULT_GATE);
  const partial = {
    ...base,
    features: FEATURE_NAMES,
    scaler,
    coefficients: fit.coefficients,
    standardErrors: fit.standardErrors,
    lambda: def.lambda,
  };
  // The population's scores now: a dot product each (no contributions kept).
  const reference = quantileSample(rows.current.map(predict));
  return {
    ...partial,
    trainingRows: train.length,
    heldOutRows: test.length,
    evaluation,
    gate,
    reference,
    published: false,
    trainingMs: performance.now() - started,
  };
};

/** Feature importance: each standardised coefficient's share of their absolute sum. */
export const importance = (
  version: Pick<ModelVersion, 'features' | 'coefficients'>,
): { feature: string; importance: number }[] => {
  const beta = version.coefficients?.slice(1) ?? [];
  const sum = beta.reduce((a, b) => a + Math.abs(b), 0) || 1;
  return version.features
    .map((feature, j) => ({
      feature,
      importance: Math.round((Math.abs(beta[j] ?? 0) / sum) * 10000) / 10000,
    }))
    .sort((a, b) => b.importance - a.importance);
};
