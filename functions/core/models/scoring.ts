/**
 * Scoring a person with a published version: the score, its percentile in the population, the
 * tags the model's declaration gives it, and the contributions behind it (coefficient ×
 * standardised value, the terms of the linear predictor). Pure: a dot product, no retraining.
 */
import type { PersonStats } from '../person';
import type { ModelDefinition, ModelVersion, PersonScore, TagWhen } from './definition';
import { featuresAt, historyOf } from './features';
import { sigmoid } from './logistic';
import { activeOn, RFM_NAMES, rfmOf } from './rows';
import { standardise } from './standardise';

/** 0..100: the share of `sorted` below x plus half the share equal to it. */
export const percentileOf = (sorted: readonly number[], x: number): number => {
  const n = sorted.length;
  if (n === 0) return 50;
  const bound = (strict: boolean) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = sorted[mid] as number;
      if (strict ? v < x : v <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const below = bound(true);
  const upTo = bound(false);
  return Math.round(((below + (upTo - below) / 2) / n) * 10000) / 100;
};

/** At most `size` values evenly spaced through the sorted values (quantiles): a reference sample. */
export const quantileSample = (values: readonly number[], size = 1000): number[] => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length <= size) return sorted;
  return Array.from(
    { length: size },
    (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (size - 1))] as number,
  );
};

export const tagHolds = (when: TagWhen, score: number, percentile: number): boolean =>
  (when.percentileAtLeast === undefined || percentile >= when.percentileAtLeast) &&
  (when.percentileAtMost === undefined || percentile <= when.percentileAtMost) &&
  (when.probabilityAtLeast === undefined || score >= when.probabilityAtLeast) &&
  (when.probabilityAtMost === undefined || score <= when.probabilityAtMost);

export interface Contribution {
  feature: string;
  /** The person's raw feature value. */
  value: number;
  /** Coefficient × standardised value (engagement: the component's percentile rank, 0..1). */
  contribution: number;
}

export interface Explained {
  score: number;
  contributions: Contribution[];
}

/** RFM composite: the mean of the three percentile ranks, recency reversed (recent is good). */
export const rfmComposite = (rfm: NonNullable<ModelVersion['rfm']>, raw: ArrayLike<number>): Explained => {
  const ranks = [
    1 - percentileOf(rfm.recency, raw[0] as number) / 100,
    percentileOf(rfm.frequency, raw[1] as number) / 100,
    percentileOf(rfm.monetary, raw[2] as number) / 100,
  ];
  return {
    score: ((ranks[0] as number) + (ranks[1] as number) + (ranks[2] as number)) / 3,
    contributions: RFM_NAMES.map((feature, i) => ({
      feature,
      value: raw[i] as number,
      contribution: ranks[i] as number,
    })),
  };
};

/** The linear model's probability and every term behind it. */
export const explainFeatures = (
  version: Pick<ModelVersion, 'coefficients' | 'scaler' | 'features'>,
  x: ArrayLike<number>,
): Explained => {
  const beta = version.coefficients as number[];
  const z = standardise(version.scaler as NonNullable<ModelVersion['scaler']>, x);
  let eta = beta[0] as number;
  const contributions = version.features.map((feature, j) => {
    const c = (beta[j + 1] as number) * (z[j] as number);
    eta += c;
    return { feature, value: x[j] as number, contribution: c };
  });
  return { score: sigmoid(eta), contributions };
};

/**
 * A person's score by a version, as of `today` (day number), with its explanation; undefined when
 * the model does not judge this person (at-risk judges only the active; engagement, only the seen).
 */
export const explainPerson = (
  version: ModelVersion,
  stats: PersonStats,
  today: number,
): Explained | undefined => {
  if (stats.mergedInto) return undefined;
  const h = historyOf(stats);
  if (version.kind === 'engagement') {
    const raw = rfmOf(stats, h, today);
    return raw && version.rfm && rfmComposite(version.rfm, raw);
  }
  if (version.kind === 'at-risk' && !activeOn(h, today)) return undefined;
  if (h.firstDay === undefined) return undefined;
  return explainFeatures(version, featuresAt(h, today));
};

export const scorePerson = (
  def: Pick<ModelDefinition, 'tags'>,
  version: ModelVersion,
  stats: PersonStats,
  now: Date,
): PersonScore | undefined => {
  const explained = explainPerson(version, stats, Math.floor(now.getTime() / 86_400_000));
  if (!explained) return undefined;
  const percentile = percentileOf(version.reference, explained.score);
  return {
    version: version.version,
    score: Math.round(explained.score * 1e6) / 1e6,
    percentile,
    tags: [
      ...new Set(def.tags.filter((t) => tagHolds(t.when, explained.score, percentile)).map((t) => t.tag)),
    ],
    scoredAt: now.toISOString(),
  };
};

/** The largest contributions by size, most influential first. */
export const topContributions = (explained: Explained, n = 5): Contribution[] =>
  [...explained.contributions]
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, n);

/** Tags a person gains and loses for one model. */
export interface TagChange {
  model: string;
  add: string[];
  remove: string[];
}

export interface Rescored {
  /** The person's scores after this (undefined: none left). */
  scores: Record<string, PersonScore> | undefined;
  changes: TagChange[];
  /** Whether the scores differ from the ones the person had. */
  changed: boolean;
}

const sameScore = (a: PersonScore | undefined, b: PersonScore | undefined) =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.version === b.version &&
    a.score === b.score &&
    a.percentile === b.percentile &&
    a.tags.join('\u0000') === b.tags.join('\u0000'));

/**
 * Score a person by every published model (a dot product each): the scores to keep and the tag
 * changes they imply. Without the personalisation purpose (`allowed` false) the person keeps no
 * score and loses every model tag; a model no longer published leaves nothing behind either.
 */
export const rescore = (
  published: readonly { definition: ModelDefinition; version: ModelVersion }[],
  stats: PersonStats,
  now: Date,
  allowed: boolean,
): Rescored => {
  const before = stats.scores ?? {};
  const after: Record<string, PersonScore> = {};
  if (allowed)
    for (const { definition, version } of published) {
      const score = scorePerson(definition, version, stats, now);
      if (score) after[definition.name] = score;
    }
  const changes: TagChange[] = [];
  let changed = false;
  const known = new Set(published.map((p) => p.definition.name));
  for (const model of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[model];
    // A score of a model this list does not hold stays: the caller's list (cached) may predate it.
    if (allowed && was && !known.has(model)) {
      after[model] = was;
      continue;
    }
    const is = after[model];
    // The same score as of another time is not a change (scoredAt alone would rewrite every person).
    if (sameScore(was, is)) {
      if (was) after[model] = was;
      continue;
    }
    changed = true;
    const held = new Set(was?.tags ?? []);
    const wanted = new Set(is?.tags ?? []);
    const add = [...wanted].filter((t) => !held.has(t));
    const remove = [...held].filter((t) => !wanted.has(t));
    if (add.length > 0 || remove.length > 0) changes.push({ model, add, remove });
  }
  return { scores: Object.keys(after).length > 0 ? after : undefined, changes, changed };
};
