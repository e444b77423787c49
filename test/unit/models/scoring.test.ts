/**
 * Features as of a day (no leakage from the days after it), rows and labels for each kind of
 * model, percentiles, scoring and its tags, rescoring with and without personalisation, RFM
 * engagement, and the rule condition on a score.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../../functions/core/events';
import type { ModelDefinition, ModelVersion } from '../../../functions/core/models/definition';
import { parseModelBody } from '../../../functions/core/models/definition';
import { FEATURE_NAMES, featuresAt, historyOf } from '../../../functions/core/models/features';
import { rowsOf } from '../../../functions/core/models/rows';
import { percentileOf, quantileSample, rescore, scorePerson } from '../../../functions/core/models/scoring';
import { trainVersion } from '../../../functions/core/models/train';
import { applyEvent, emptyPerson, type PersonStats } from '../../../functions/core/person';
import { evaluateRule, parseCondition } from '../../../functions/core/rules';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00Z');
const TODAY = Math.floor(NOW.getTime() / DAY);
const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY).toISOString();

const person = (key: string, events: [string, number][]): PersonStats => {
  const stats = emptyPerson(key);
  for (const [type, daysAgo] of events)
    applyEvent(stats, {
      type,
      eventTime: at(daysAgo),
      data: {},
      personKey: key,
    } as unknown as CanonicalEvent);
  return stats;
};

const definition = (over: Partial<ModelDefinition> = {}): ModelDefinition =>
  parseModelBody(
    'buyers',
    {
      kind: 'propensity',
      target: { type: 'conversion' },
      horizonDays: 7,
      tags: [{ tag: 'likely_buyer', when: { percentileAtLeast: 50 } }],
      ...over,
    },
    NOW,
  );

describe('features as of a day', () => {
  it('read nothing after the day: later events leave them unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('click', 'view', 'conversion'), fc.integer({ min: 8, max: 80 }))),
        fc.array(fc.tuple(fc.constantFrom('click', 'view', 'conversion'), fc.integer({ min: 1, max: 7 }))),
        (before, after) => {
          const cutoff = TODAY - 8;
          const early = person('p', before);
          const later = person('p', [...before, ...after]);
          // Lifetime counts and first-seen move with later events; the features as of the cut-off must not.
          if (before.length === 0) return;
          expect([...featuresAt(historyOf(later), cutoff)]).toEqual([
            ...featuresAt(historyOf(early), cutoff),
          ]);
        },
      ),
    );
  });

  it('name every column', () => {
    expect(featuresAt(historyOf(person('p', [['click', 3]])), TODAY)).toHaveLength(FEATURE_NAMES.length);
  });
});

describe('rows and labels', () => {
  it('propensity: label from the horizon after the cut-off; a person first seen after it trains nothing', () => {
    const buyer = rowsOf(
      definition(),
      person('a', [
        ['view', 20],
        ['conversion', 3],
      ]),
      TODAY,
    );
    expect(buyer.training?.y).toBe(1);
    expect(buyer.current).toBeDefined();
    expect(rowsOf(definition(), person('b', [['view', 20]]), TODAY).training?.y).toBe(0);
    expect(rowsOf(definition(), person('c', [['view', 2]]), TODAY).training).toBeUndefined();
  });

  it('at-risk: only the active at the cut-off; lapsing = nothing in the horizon', () => {
    const atRisk = definition({ kind: 'at-risk', target: undefined });
    expect(rowsOf(atRisk, person('a', [['view', 10]]), TODAY).training?.y).toBe(1);
    expect(
      rowsOf(
        atRisk,
        person('b', [
          ['view', 10],
          ['click', 2],
        ]),
        TODAY,
      ).training?.y,
    ).toBe(0);
    expect(rowsOf(atRisk, person('c', [['view', 60]]), TODAY)).toEqual({});
  });

  it('a profile merged into its user contributes nothing', () => {
    expect(rowsOf(definition(), { ...person('a', [['view', 20]]), mergedInto: 'u' }, TODAY)).toEqual({});
  });
});

describe('percentiles', () => {
  it('count ties half and stay within 0..100', () => {
    expect(percentileOf([1, 2, 3, 4], 2.5)).toBe(50);
    expect(percentileOf([1, 1, 1, 1], 1)).toBe(50);
    expect(percentileOf([1, 2, 3, 4], 0)).toBe(0);
    expect(percentileOf([1, 2, 3, 4], 9)).toBe(100);
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1 }),
        fc.double({ noNaN: true }),
        (xs, x) => {
          const p = percentileOf(quantileSample(xs, 50), x);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(100);
        },
      ),
    );
  });
});

/** A population where buying follows engagement: enough to pass the gate. */
const population = () => {
  const people: PersonStats[] = [];
  for (let i = 0; i < 120; i++) {
    const engaged = i % 2 === 0;
    people.push(
      person(
        `p${i}`,
        engaged
          ? [
              ['video-play', 20],
              ['video-play', 15],
              ['click', 12],
              ['conversion', 3],
            ]
          : [['view', 15]],
      ),
    );
  }
  return people;
};

const trained = (def: ModelDefinition): ModelVersion => {
  const rows = { training: [] as { x: Float64Array; y: 0 | 1 }[], current: [] as Float64Array[] };
  for (const p of population()) {
    const r = rowsOf(def, p, TODAY);
    if (r.training) rows.training.push(r.training);
    if (r.current) rows.current.push(r.current);
  }
  return { ...trainVersion(def, rows, { now: NOW, seed: 3 }), version: 1, published: true };
};

describe('scoring', () => {
  it('scores by a dot product, with the percentile and the declared tags', () => {
    const def = definition();
    const version = trained(def);
    expect(version.gate.passed).toBe(true);
    const [engaged, casual] = population();
    const high = scorePerson(def, version, engaged as PersonStats, NOW);
    const low = scorePerson(def, version, casual as PersonStats, NOW);
    expect(high?.score).toBeGreaterThan(low?.score as number);
    expect(high).toMatchObject({ version: 1, percentile: 75, tags: ['likely_buyer'] });
    expect(low).toMatchObject({ percentile: 25, tags: [] });
  });

  it('rescores: tag changes as sets; withdrawal clears scores and tags; the same score is no change', () => {
    const def = definition();
    const version = trained(def);
    const published = [{ definition: def, version }];
    const engaged = population()[0] as PersonStats;
    const first = rescore(published, engaged, NOW, true);
    expect(first.changes).toEqual([{ model: 'buyers', add: ['likely_buyer'], remove: [] }]);
    const scored = { ...engaged, scores: first.scores };
    const again = rescore(published, scored, new Date(NOW.getTime() + 1000), true);
    expect(again).toMatchObject({ changed: false, changes: [] });
    const withdrawn = rescore(published, scored, NOW, false);
    expect(withdrawn).toEqual({
      scores: undefined,
      changes: [{ model: 'buyers', add: [], remove: ['likely_buyer'] }],
      changed: true,
    });
  });

  it('engagement ranks by recency, frequency and conversions, without training', () => {
    const def = definition({ kind: 'engagement', target: undefined });
    const version = trained(def);
    expect(version.gate.passed).toBe(true);
    expect(version.coefficients).toBeUndefined();
    const [engaged, casual] = population();
    const high = scorePerson(def, version, engaged as PersonStats, NOW);
    const low = scorePerson(def, version, casual as PersonStats, NOW);
    expect(high?.percentile).toBeGreaterThan(low?.percentile as number);
  });
});

describe('the rule condition on a score', () => {
  const scored = {
    ...person('p', [['view', 1]]),
    scores: { buyers: { version: 1, score: 0.8, percentile: 92, tags: [], scoredAt: NOW.toISOString() } },
  };
  const holds = (when: unknown, stats: PersonStats = scored) => {
    const parsed = parseCondition(when);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return evaluateRule({ when: parsed.value }, stats, NOW);
  };

  it('holds on the percentile or score bounds, never changes with time, fails for the unscored', () => {
    expect(holds({ model: 'buyers', percentileAtLeast: 90 })).toEqual({ holds: true });
    expect(holds({ model: 'buyers', scoreAtMost: 0.5 })).toEqual({ holds: false });
    expect(
      holds({ all: [{ model: 'buyers', percentileAtLeast: 90 }, { lastSeenWithinDays: 7 }] }).holds,
    ).toBe(true);
    expect(holds({ model: 'buyers', percentileAtLeast: 1 }, person('q', [['view', 1]]))).toEqual({
      holds: false,
    });
    expect(holds({ model: 'other', percentileAtLeast: 1 })).toEqual({ holds: false });
  });

  it('is validated with field paths', () => {
    expect(parseCondition({ model: 'buyers' }, ['when'])).toEqual({
      ok: false,
      errors: [{ path: 'when.percentileAtLeast', message: 'Give a percentile or score bound' }],
    });
    const bad = parseCondition({ model: 'buyers', percentileAtLeast: 101 });
    expect(bad.ok).toBe(false);
    expect(parseCondition({ model: 'buyers', percentile: 1 }).ok).toBe(false);
  });
});
