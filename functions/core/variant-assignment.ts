/**
 * Deterministic assignment of a person to an experiment's arm, and targeting. Pure.
 *
 * The hash is GrowthBook's v2 (packages/sdk-js/src/util.ts): FNV-1a 32 over the UTF-16 code
 * units of `seed + value`, hashed again as a decimal string, modulo 10 000, over 10 000 — a
 * number in [0, 1) with 4 decimals. The double hash is GrowthBook's fix for v1's bias on
 * sequential ids.
 *
 * Unlike GrowthBook (whose arm ranges are scaled by coverage), the coverage gate and the arm
 * come from two INDEPENDENT hashes with different seeds: Unleash's lesson — one hash for both
 * correlates who is in the test with which arm they get, and changing coverage then moves
 * people between arms. Here the arm never depends on coverage.
 */
import type { Channel, DeviceType } from './events';
import type { PersonStats } from './person';
import { type TraitCondition, traitsHold } from './trait-conditions';

/** FNV-1a, 32 bits, over UTF-16 code units (as GrowthBook's JavaScript SDK does). */
export const fnv1a32 = (input: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    // h * 16777619 (the FNV prime 2^24 + 2^8 + 0x93) in 32-bit arithmetic.
    h += (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24);
  }
  return h >>> 0;
};

/** GrowthBook's hash v2: `(fnv(String(fnv(seed + value))) % 10000) / 10000`, in [0, 0.9999]. */
export const hashV2 = (seed: string, value: string): number =>
  (fnv1a32(String(fnv1a32(seed + value))) % 10_000) / 10_000;

export const gateSeed = (experimentId: string): string => `${experimentId}:gate`;
export const armSeed = (experimentId: string): string => `${experimentId}:arm`;

/** Is the person inside the experiment's coverage (the share of eligible persons enrolled)? */
export const inCoverage = (experimentId: string, personKey: string, coverage: number): boolean =>
  hashV2(gateSeed(experimentId), personKey) < coverage;

/**
 * The arm for a bucket value in [0, 1): weights are relative, each arm owns a slice of [0, 1)
 * proportional to its weight, in order. A zero-weight arm owns nothing. Returns -1 only when
 * no weight is positive (validation refuses such experiments).
 */
export const armFor = (bucket: number, weights: readonly number[]): number => {
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (!(total > 0)) return -1;
  let cumulative = 0;
  let lastPositive = -1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w <= 0) continue;
    lastPositive = i;
    cumulative += w / total;
    if (bucket < cumulative) return i;
  }
  // Rounding can leave the last boundary a hair under 1: the top of the range is the last arm's.
  return lastPositive;
};

export interface Bucketable {
  experimentId: string;
  coverage: number;
  variants: readonly { id: string; weight: number }[];
}

/** The arm index for a person, whatever the coverage (the arm hash ignores coverage). */
export const armIndex = (experiment: Bucketable, personKey: string): number =>
  armFor(
    hashV2(armSeed(experiment.experimentId), personKey),
    experiment.variants.map((v) => v.weight),
  );

/** The variant id a person is assigned, or undefined when outside the coverage gate. */
export const assignVariant = (experiment: Bucketable, personKey: string): string | undefined => {
  if (!inCoverage(experiment.experimentId, personKey, experiment.coverage)) return undefined;
  return experiment.variants[armIndex(experiment, personKey)]?.id;
};

export interface Targeting {
  tagsAny?: readonly string[];
  tagsAll?: readonly string[];
  channels?: readonly Channel[];
  /** None of these tags. */
  tagsNone?: readonly string[];
  /** A member of at least one of these segments (a segment is the persons carrying its tag). */
  segments?: readonly string[];
  deviceTypes?: readonly DeviceType[];
  traits?: readonly TraitCondition[];
}

/** Whether targeting needs the person's tags at all (they cost a read on the hot path). */
export const targetsTags = (t: Targeting | undefined): boolean =>
  (t?.tagsAny?.length ?? 0) > 0 ||
  (t?.tagsAll?.length ?? 0) > 0 ||
  (t?.tagsNone?.length ?? 0) > 0 ||
  (t?.segments?.length ?? 0) > 0;

/** Whether targeting needs the person's traits (a read of the person item on the hot path). */
export const targetsTraits = (t: Targeting | undefined): boolean => (t?.traits?.length ?? 0) > 0;

/**
 * Does the targeting admit this person? Every rule given must hold; an empty or absent rule
 * admits everyone: `tagsAny` — at least one of the tags; `tagsAll` — every one of them;
 * `channels` — the request's channel is one of them (a request without a channel is not);
 * `tagsNone` — none of the tags; `segments` — a member of at least one; `deviceTypes` — the
 * request's device type is one of them (`other` when the request names none).
 */
export const isTargeted = (
  t: Targeting | undefined,
  person: {
    tags: ReadonlySet<string>;
    channel?: Channel | undefined;
    deviceType?: DeviceType | undefined;
    stats?: PersonStats;
    now?: Date;
  },
): boolean => {
  if (!t) return true;
  // `traits`: every trait condition holds on the person's profile (none known: not admitted).
  if (t.traits?.length && !(person.stats && traitsHold(t.traits, person.stats, person.now ?? new Date())))
    return false;
  if (t.tagsAny?.length && !t.tagsAny.some((tag) => person.tags.has(tag))) return false;
  if (t.tagsAll?.length && !t.tagsAll.every((tag) => person.tags.has(tag))) return false;
  if (t.channels?.length && (person.channel === undefined || !t.channels.includes(person.channel)))
    return false;
  if (t.tagsNone?.some((tag) => person.tags.has(tag))) return false;
  if (t.segments?.length && !t.segments.some((tag) => person.tags.has(tag))) return false;
  if (t.deviceTypes?.length && !t.deviceTypes.includes(person.deviceType ?? 'other')) return false;
  return true;
};
