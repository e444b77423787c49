/** How models, versions and scores are answered: every metric beside its baseline. Pure. */
import type { ModelState } from '../adapters/models-repository';
import type { ModelVersion, PersonScore } from '../core/models/definition';
import { type Explained, topContributions } from '../core/models/scoring';
import { importance } from '../core/models/train';

const round = (n: number | undefined, digits = 4) =>
  n === undefined || Number.isNaN(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits;

export const versionView = (v: ModelVersion) => {
  const weights = importance(v);
  const weightOf = new Map(weights.map((w) => [w.feature, w.importance]));
  return {
    version: v.version,
    kind: v.kind,
    published: v.published,
    trainedAt: v.trainedAt,
    cutoff: v.cutoff,
    horizonDays: v.horizonDays,
    ...(v.target && { target: v.target }),
    trainingRows: v.trainingRows,
    heldOutRows: v.heldOutRows,
    trainingMs: Math.round(v.trainingMs),
    gate: v.gate,
    ...(v.evaluation && {
      evaluation: {
        heldOutRows: v.evaluation.rows,
        positives: v.evaluation.positives,
        auc: { value: round(v.evaluation.auc), baseline: 0.5 },
        logLoss: { value: round(v.evaluation.logLoss), baseline: round(v.evaluation.baseLogLoss) },
        liftTop20: { value: round(v.evaluation.liftTop20), baseline: 1 },
        baseRate: round(v.evaluation.baseRate),
      },
    }),
    ...(v.coefficients && {
      intercept: round(v.coefficients[0]),
      lambda: v.lambda,
      coefficients: v.features.map((feature, j) => ({
        feature,
        coefficient: round(v.coefficients?.[j + 1]),
        standardError: round(v.standardErrors?.[j + 1]),
        importance: weightOf.get(feature) ?? 0,
        mean: round(v.scaler?.means[j]),
        scale: round(v.scaler?.scales[j]),
      })),
      importance: weights,
    }),
    ...(v.rfm && {
      components: v.features,
      population: v.rfm.recency.length,
    }),
  };
};

export const modelView = (
  state: ModelState,
  published: ModelVersion | undefined,
  recent: ModelVersion[],
) => ({
  name: state.definition.name,
  definition: state.definition,
  ...(state.publishedVersion !== undefined && { publishedVersion: state.publishedVersion }),
  ...(state.requestedAt !== undefined && { requestedAt: state.requestedAt }),
  ...(state.lastRun && { lastRun: state.lastRun }),
  ...(published && { published: versionView(published) }),
  versions: recent.map((v) => ({
    version: v.version,
    trainedAt: v.trainedAt,
    published: v.published,
    trainingRows: v.trainingRows,
    auc: round(v.evaluation?.auc),
    gate: v.gate,
  })),
});

export const scoreView = (
  model: string,
  kind: string,
  score: PersonScore,
  explained: Explained | undefined,
) => ({
  model,
  kind,
  version: score.version,
  score: score.score,
  percentile: score.percentile,
  tags: score.tags,
  scoredAt: score.scoredAt,
  contributions: explained
    ? topContributions(explained).map((c) => ({
        feature: c.feature,
        value: round(c.value),
        contribution: round(c.contribution),
      }))
    : [],
});
