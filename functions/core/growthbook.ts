/**
 * Pulse's running experiments, holdouts and feature flags as a GrowthBook SDK payload
 * (`GET /api/features/{clientKey}`), so GrowthBook's SDKs evaluate them on the device. Pure.
 *
 * The format is GrowthBook's `FeatureApiResponse` (`{features, dateUpdated}`, each feature a
 * `defaultValue` and ordered `rules`). Each running experiment becomes an experiment rule of the
 * feature named by its placement that assigns exactly what `GET /api/promotion` assigns:
 * - hash version 2 on the attribute `id` (the person key: the userId, else the anonymousId);
 * - the arm: seed `<experimentId>:arm`, explicit `ranges` built with the very arithmetic of
 *   `armFor` (so floating-point boundaries agree to the last bit);
 * - the coverage gate: a `filters` entry with seed `<experimentId>:gate` and range
 *   [0, coverage) — GrowthBook's own `coverage` would scale the arm ranges, which Pulse's
 *   independent gate does not;
 * - targeting as a condition on the attributes `tags` (the person's tags), `channel` and
 *   `deviceType`; where Pulse falls back (the source's channel, device `other`), so does the
 *   condition;
 * - each variation is the variant's content; `meta[].key` the variant id, which the SDK's
 *   tracking callback sends back as the exposure's variant.
 * A holdout on the placement (or on `*`) comes first: the held-out group gets the default
 * (`null`: the app shows its own), the exposed group passes through to the experiment
 * (GrowthBook's `passthrough`), and both are tracked under the holdout's id.
 *
 * Nothing else leaves: no descriptions, goals, metrics, drafts or stopped experiments, no
 * results, no other source's data.
 */
import type { Channel, DeviceType } from './events';
import { currentWeights, holdoutsAt, modeOf } from './experiment-design';
import { runningAt, type StoredExperiment } from './experiments';
import type { StoredFlag } from './flags';
import { armSeed, gateSeed, type Targeting } from './variant-assignment';

export const HASH_ATTRIBUTE = 'id';
export const HASH_VERSION = 2;

export type Range = [number, number];
export type Condition = Record<string, unknown>;

export interface FeatureRule {
  id?: string;
  key?: string;
  condition?: Condition;
  force?: unknown;
  coverage?: number;
  variations?: unknown[];
  weights?: number[];
  ranges?: Range[];
  meta?: { key: string; passthrough?: boolean }[];
  filters?: { seed: string; ranges: Range[]; hashVersion: number; attribute: string }[];
  hashAttribute?: string;
  hashVersion?: number;
  seed?: string;
}

export interface FeatureDefinition {
  defaultValue: unknown;
  rules?: FeatureRule[];
}

export interface SdkPayload {
  features: Record<string, FeatureDefinition>;
  dateUpdated: string;
}

/**
 * Each arm's [lower, upper) share of [0, 1), computed exactly as `armFor` walks the weights:
 * a zero-weight arm owns an empty range, and the last positive arm owns up to 1.
 */
export const armRanges = (weights: readonly number[]): Range[] => {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let lastPositive = -1;
  weights.forEach((w, i) => {
    if (w > 0) lastPositive = i;
  });
  let cumulative = 0;
  return weights.map((w, i): Range => {
    if (!(w > 0) || !(total > 0)) return [cumulative, cumulative];
    const lower = cumulative;
    cumulative += w / total;
    return [lower, i === lastPositive ? 1 : cumulative];
  });
};

/** Where the source fills in a missing attribute, a missing one passes too. */
const inOrMissing = (
  attribute: string,
  values: readonly string[],
  fallback: string | undefined,
): Condition =>
  fallback !== undefined && values.includes(fallback)
    ? { $or: [{ [attribute]: { $in: [...values] } }, { [attribute]: { $exists: false } }] }
    : { [attribute]: { $in: [...values] } };

/** Pulse targeting as a GrowthBook condition (undefined: everyone). */
export const targetingCondition = (
  t: Targeting | undefined,
  sourceChannel: Channel,
): Condition | undefined => {
  const clauses: Condition[] = [];
  if (t?.tagsAny?.length) clauses.push({ tags: { $in: [...t.tagsAny] } });
  if (t?.tagsAll?.length) clauses.push({ tags: { $all: [...t.tagsAll] } });
  if (t?.tagsNone?.length) clauses.push({ tags: { $nin: [...t.tagsNone] } });
  if (t?.segments?.length) clauses.push({ tags: { $in: [...t.segments] } });
  if (t?.channels?.length) clauses.push(inOrMissing('channel', t.channels, sourceChannel));
  if (t?.deviceTypes?.length)
    clauses.push(inOrMissing('deviceType', t.deviceTypes, 'other' satisfies DeviceType));
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
};

const gateFilters = (experimentId: string, coverage: number): Pick<FeatureRule, 'filters'> =>
  coverage >= 1
    ? {}
    : {
        filters: [
          {
            seed: gateSeed(experimentId),
            ranges: [[0, coverage]],
            hashVersion: HASH_VERSION,
            attribute: HASH_ATTRIBUTE,
          },
        ],
      };

const bucketing = (e: StoredExperiment, weights: number[]) => {
  const total = weights.reduce((s, w) => s + w, 0);
  return {
    key: e.experimentId,
    weights: weights.map((w) => (total > 0 ? w / total : 0)),
    ranges: armRanges(weights),
    hashAttribute: HASH_ATTRIBUTE,
    hashVersion: HASH_VERSION,
    seed: armSeed(e.experimentId),
    ...gateFilters(e.experimentId, e.coverage),
  };
};

const withCondition = (rule: FeatureRule, condition: Condition | undefined): FeatureRule =>
  condition ? { condition, ...rule } : rule;

export const experimentRule = (e: StoredExperiment, sourceChannel: Channel): FeatureRule =>
  withCondition(
    {
      ...bucketing(e, currentWeights(e)),
      variations: e.variants.map((v) => v.content),
      meta: e.variants.map((v) => ({ key: v.id })),
    },
    targetingCondition(e.targeting, sourceChannel),
  );

/** The held-out group (first variant) gets the default; the exposed one passes through. */
export const holdoutRule = (h: StoredExperiment, sourceChannel: Channel): FeatureRule =>
  withCondition(
    {
      ...bucketing(
        h,
        h.variants.map((v) => v.weight),
      ),
      variations: h.variants.map(() => null),
      meta: h.variants.map((v, i) => (i === 0 ? { key: v.id } : { key: v.id, passthrough: true })),
    },
    targetingCondition(h.targeting, sourceChannel),
  );

/** A flag: its rules in order, each a condition, a rollout share and the value forced. */
export const flagFeature = (flag: StoredFlag, sourceChannel: Channel): FeatureDefinition => ({
  defaultValue: flag.defaultValue,
  rules: flag.rules.map((r, i) =>
    withCondition(
      {
        id: `${flag.key}:${i}`,
        force: r.value,
        ...(r.rollout !== undefined &&
          r.rollout < 1 && {
            coverage: r.rollout,
            hashAttribute: HASH_ATTRIBUTE,
            hashVersion: HASH_VERSION,
            seed: `${flag.key}:${i}`,
          }),
      },
      targetingCondition(r.targeting, sourceChannel),
    ),
  ),
});

/**
 * The payload for a source: every enabled flag, and per placement with a running experiment a
 * feature of that name (a flag and a placement of the same name: the experiment wins, since it
 * is what `/api/promotion` serves).
 */
export const sdkPayload = (
  experiments: readonly StoredExperiment[],
  flags: readonly StoredFlag[],
  sourceChannel: Channel,
  now: Date,
): SdkPayload => {
  const features: Record<string, FeatureDefinition> = Object.create(null);
  for (const flag of flags) if (flag.enabled !== false) features[flag.key] = flagFeature(flag, sourceChannel);
  const placements = new Set(
    experiments.filter((e) => e.status === 'running' && modeOf(e) !== 'holdout').map((e) => e.placement),
  );
  for (const placement of placements) {
    const e = runningAt(experiments, placement) as StoredExperiment;
    features[placement] = {
      defaultValue: null,
      rules: [
        ...holdoutsAt(experiments, placement).map((h) => holdoutRule(h, sourceChannel)),
        experimentRule(e, sourceChannel),
      ],
    };
  }
  return { features, dateUpdated: now.toISOString() };
};
