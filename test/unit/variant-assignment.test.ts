import { describe, expect, it } from 'vitest';
import {
  armFor,
  armIndex,
  assignVariant,
  fnv1a32,
  hashV2,
  inCoverage,
  isTargeted,
  targetsTags,
} from '../../functions/core/variant-assignment';

const USERS = 100_000;
const ids = Array.from({ length: USERS }, (_, i) => `user-${i}`);
const experiment = (weights: number[], coverage = 1, experimentId = 'exp-home-banner') => ({
  experimentId,
  coverage,
  variants: weights.map((weight, i) => ({ id: String.fromCharCode(65 + i), weight })),
});

/** Pearson's chi-square statistic of observed counts against expected proportions. */
const chiSquare = (observed: number[], proportions: number[]) => {
  const n = observed.reduce((s, o) => s + o, 0);
  return observed.reduce((s, o, i) => {
    const e = n * (proportions[i] as number);
    return s + ((o - e) * (o - e)) / e;
  }, 0);
};
/** Chi-square critical values at p = 0.001 (statistical tables), by degrees of freedom. */
const CRITICAL_0_001: Record<number, number> = { 1: 10.828, 2: 13.816, 3: 16.266 };

describe('hashing (GrowthBook v2)', () => {
  it('is FNV-1a 32 (the reference test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it("reproduces GrowthBook's v2 buckets (sdk-js test cases: id '1' in 'experiment' and 'holdout')", () => {
    expect(hashV2('experiment', '1')).toBe(0.4413);
    expect(hashV2('holdout', '1')).toBe(0.8043);
  });

  it('gives numbers in [0, 1) with 4 decimals', () => {
    for (const id of ids.slice(0, 2000)) {
      const h = hashV2('seed', id);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(1);
      expect(Math.round(h * 10_000) / 10_000).toBe(h);
    }
  });
});

describe('assignment', () => {
  it('gives the same person the same variant, every time', () => {
    const x = experiment([50, 50]);
    const first = ids.slice(0, 5000).map((id) => assignVariant(x, id));
    const again = ids.slice(0, 5000).map((id) => assignVariant(structuredClone(x), id));
    expect(again).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['A', 'B']));
  });

  it('splits 100,000 persons by the relative weights, within sampling error (chi-square)', () => {
    for (const weights of [
      [50, 50],
      [50, 30, 20],
      [1, 1, 1, 1],
      [9, 1],
    ]) {
      const x = experiment(weights);
      const counts = new Array(weights.length).fill(0);
      for (const id of ids) counts[armIndex(x, id)]++;
      const total = weights.reduce((s, w) => s + w, 0);
      const stat = chiSquare(
        counts,
        weights.map((w) => w / total),
      );
      expect(stat, `weights ${weights.join('/')}: counts ${counts.join('/')}`).toBeLessThan(
        CRITICAL_0_001[weights.length - 1] as number,
      );
    }
  });

  it('never moves a person between arms when the coverage changes', () => {
    const full = experiment([50, 30, 20], 1);
    const armAtFull = new Map(ids.map((id) => [id, assignVariant(full, id)]));
    let previouslyIn = new Set<string>();
    for (const coverage of [0.05, 0.1, 0.3, 0.5, 0.8, 1]) {
      const x = { ...full, coverage };
      const enrolled = new Set<string>();
      const moved: string[] = [];
      for (const id of ids) {
        const v = assignVariant(x, id);
        if (v === undefined) continue;
        enrolled.add(id);
        if (v !== armAtFull.get(id)) moved.push(id);
      }
      expect(moved).toEqual([]);
      // Raising the coverage only adds persons: nobody enrolled before drops out.
      expect([...previouslyIn].filter((id) => !enrolled.has(id))).toEqual([]);
      // The enrolled share is the coverage within 4 standard errors.
      const sd = Math.sqrt((coverage * (1 - coverage)) / USERS);
      expect(Math.abs(enrolled.size / USERS - coverage)).toBeLessThanOrEqual(4 * sd + 1e-9);
      previouslyIn = enrolled;
    }
  });

  it('hashes the gate and the arm independently (no arm is over-represented near the gate edge)', () => {
    // 2 × 3 contingency table: in/out of a 30 % gate × arm. Independence: chi-square with df 2.
    const x = experiment([50, 30, 20], 0.3);
    const table = [
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (const id of ids) {
      const row = table[inCoverage(x.experimentId, id, x.coverage) ? 0 : 1] as number[];
      row[armIndex(x, id)] = (row[armIndex(x, id)] as number) + 1;
    }
    const rows = table.map((r) => r.reduce((s, n) => s + n, 0));
    const cols = [0, 1, 2].map((j) => table.reduce((s, r) => s + (r[j] as number), 0));
    let stat = 0;
    table.forEach((r, i) => {
      r.forEach((o, j) => {
        const e = ((rows[i] as number) * (cols[j] as number)) / USERS;
        stat += ((o - e) * (o - e)) / e;
      });
    });
    expect(stat).toBeLessThan(CRITICAL_0_001[2] as number);
    // And inside the gate the split still follows the weights.
    expect(chiSquare(table[0] as number[], [0.5, 0.3, 0.2])).toBeLessThan(CRITICAL_0_001[2] as number);
  });

  it('assigns different experiments independently', () => {
    const a = experiment([50, 50], 1, 'exp-a');
    const b = experiment([50, 50], 1, 'exp-b');
    const same = ids.filter((id) => assignVariant(a, id) === assignVariant(b, id)).length;
    expect(Math.abs(same / USERS - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / USERS));
  });

  it('gives zero-weight arms nobody and keeps the top of the range with the last arm', () => {
    expect(armFor(0, [0, 1, 1])).toBe(1);
    expect(armFor(0.4999, [0, 1, 1])).toBe(1);
    expect(armFor(0.5, [0, 1, 1])).toBe(2);
    expect(armFor(0.9999, [1, 1, 0])).toBe(1);
    expect(armFor(0.9999, [1 / 3, 1 / 3, 1 / 3])).toBe(2);
    expect(armFor(0.3, [0, 0])).toBe(-1);
    expect(assignVariant(experiment([50, 50], 0), 'anyone')).toBeUndefined();
  });
});

describe('targeting', () => {
  const tags = (...t: string[]) => new Set(t);

  it('admits everyone without rules', () => {
    expect(isTargeted(undefined, { tags: tags() })).toBe(true);
    expect(isTargeted({}, { tags: tags() })).toBe(true);
    expect(isTargeted({ tagsAny: [], tagsAll: [], channels: [] }, { tags: tags() })).toBe(true);
    expect(targetsTags({ channels: ['web'] })).toBe(false);
  });

  it('checks tagsAny, tagsAll and channels, all of them', () => {
    const t = { tagsAny: ['vip', 'frequent_viewer'], tagsAll: ['opted_in'], channels: ['ios' as const] };
    expect(targetsTags(t)).toBe(true);
    expect(isTargeted(t, { tags: tags('vip', 'opted_in'), channel: 'ios' })).toBe(true);
    expect(isTargeted(t, { tags: tags('frequent_viewer', 'opted_in'), channel: 'ios' })).toBe(true);
    expect(isTargeted(t, { tags: tags('opted_in'), channel: 'ios' })).toBe(false);
    expect(isTargeted(t, { tags: tags('vip'), channel: 'ios' })).toBe(false);
    expect(isTargeted(t, { tags: tags('vip', 'opted_in'), channel: 'web' })).toBe(false);
    expect(isTargeted(t, { tags: tags('vip', 'opted_in') })).toBe(false);
  });
});
