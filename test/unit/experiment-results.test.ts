import { describe, expect, it } from 'vitest';
import { metricAttribute } from '../../functions/core/experiment-metrics';
import { banditAllocation, experimentMetricResults } from '../../functions/core/experiment-results';
import { applyUpdate, experimentBodySchema, type StoredExperiment } from '../../functions/core/experiments';
import { isTargeted } from '../../functions/core/variant-assignment';
import { parseWith } from '../../functions/core/zod';

const now = new Date('2026-11-29T12:00:00Z');
const base = {
  placement: 'home',
  status: 'running',
  goal: { type: 'conversion' },
  variants: [
    { id: 'A', weight: 1, content: {} },
    { id: 'B', weight: 1, content: {} },
  ],
};
const errorsOf = (body: unknown) => {
  const r = parseWith(experimentBodySchema, body);
  return r.ok ? [] : r.errors;
};
const stored = (body: Record<string, unknown>): StoredExperiment =>
  applyUpdate('x', undefined, experimentBodySchema.parse({ ...base, ...body }), [], now);

describe('experiment design validation', () => {
  it('accepts metrics, analysis and modes, and names each mistake by its path', () => {
    expect(
      errorsOf({
        ...base,
        metrics: {
          secondary: [
            { id: 'rev', kind: 'value', event: { type: 'conversion' } },
            { id: 'rev', kind: 'count', event: { type: 'click' }, currency: 'EUR' },
            { id: 'aov', kind: 'ratio', event: { type: 'conversion' } },
          ],
          guardrails: [{ id: 'constructor', kind: 'count', event: { type: 'click' } }],
        },
        analysis: { alpha: 0.5 },
      }).map((e) => e.path),
    ).toEqual([
      'metrics.secondary.0.currency',
      'metrics.secondary.1.currency',
      'metrics.secondary.1.event.type',
      'metrics.secondary.2.denominator',
      'metrics.guardrails.0.id',
      'analysis.alpha',
    ]);
    expect(
      errorsOf({
        ...base,
        metrics: {
          secondary: [{ id: 'goal', kind: 'count', event: { type: 'click' } }],
          guardrails: [
            { id: 'x', kind: 'count', event: { type: 'click' } },
            { id: 'x', kind: 'count', event: { type: 'view' } },
          ],
        },
      }),
    ).toEqual([
      { path: 'metrics.secondary.0.id', message: 'Duplicate metric id "goal" (also the goal metric)' },
      { path: 'metrics.guardrails.1.id', message: 'Duplicate metric id "x" (also metrics.guardrails.0.id)' },
    ]);
    expect(
      errorsOf({
        ...base,
        mode: 'bandit',
        bandit: { explorationFloor: 0.1 },
        analysis: { method: 'sequential', cuped: true },
        targeting: { tagsNone: ['churned'], segments: ['eu'], deviceTypes: ['mobile'] },
        metrics: {
          guardrails: [
            { id: 'errors', kind: 'count', event: { type: 'custom', name: 'error' }, higherIsBetter: false },
          ],
        },
      }),
    ).toEqual([]);
  });

  it('keeps "*" for holdouts, and holdouts to two groups', () => {
    expect(errorsOf({ ...base, placement: '*' }).map((e) => e.path)).toEqual(['placement']);
    expect(errorsOf({ ...base, placement: '*', mode: 'holdout' })).toEqual([]);
    expect(
      errorsOf({
        ...base,
        mode: 'holdout',
        variants: [...base.variants, { id: 'C', weight: 1, content: {} }],
      }).map((e) => e.path),
    ).toEqual(['variants']);
  });

  it('freezes metrics and mode once started; holdouts never block a placement', () => {
    const running = stored({});
    const withMetric = experimentBodySchema.parse({
      ...base,
      metrics: { secondary: [{ id: 'c', kind: 'count', event: { type: 'click' } }] },
    });
    expect(() => applyUpdate('x', running, withMetric, [], now)).toThrow(/metrics are frozen/);
    // The default metrics written out are the same metrics.
    const explicit = experimentBodySchema.parse({
      ...base,
      metrics: { primary: { id: 'goal', kind: 'conversion', event: { type: 'conversion' } } },
    });
    expect(applyUpdate('x', running, explicit, [], now).version).toBe(2);
    const holdout = experimentBodySchema.parse({ ...base, mode: 'holdout' });
    expect(applyUpdate('h', undefined, holdout, [{ experimentId: 'x' }], now).status).toBe('running');
    expect(
      applyUpdate(
        'y',
        undefined,
        experimentBodySchema.parse(base),
        [{ experimentId: 'h', mode: 'holdout' }],
        now,
      ).status,
    ).toBe('running');
  });

  it('targets by exclusions, segments and device', () => {
    const t = { tagsNone: ['churned'], segments: ['eu', 'uk'], deviceTypes: ['mobile' as const] };
    expect(isTargeted(t, { tags: new Set(['eu']), deviceType: 'mobile' })).toBe(true);
    expect(isTargeted(t, { tags: new Set(['eu', 'churned']), deviceType: 'mobile' })).toBe(false);
    expect(isTargeted(t, { tags: new Set(['us']), deviceType: 'mobile' })).toBe(false);
    expect(isTargeted(t, { tags: new Set(['uk']) })).toBe(false);
    expect(isTargeted({ deviceTypes: ['other'] }, { tags: new Set() })).toBe(true);
  });
});

describe('results per metric', () => {
  const counters = (arms: Record<string, number>[]) => new Map(arms.map((c, i) => [i === 0 ? 'A' : 'B', c]));

  it('reads the goal from the conversions counter and a count metric from its sums (worked by hand)', () => {
    const e = stored({ metrics: { secondary: [{ id: 'clicks', kind: 'count', event: { type: 'click' } }] } });
    // A: 4 persons with clicks 1,2,3,4 (Σ 10, Σ² 30); B: 4 persons with 2,3,4,5 (Σ 14, Σ² 54).
    const r = experimentMetricResults(
      e,
      counters([
        {
          exposures: 4,
          conversions: 1,
          [metricAttribute('clicks', 's')]: 10,
          [metricAttribute('clicks', 'q')]: 30,
        },
        {
          exposures: 4,
          conversions: 2,
          [metricAttribute('clicks', 's')]: 14,
          [metricAttribute('clicks', 'q')]: 54,
        },
      ]),
    );
    const [goal, clicks] = r.metrics;
    expect(goal?.role).toBe('primary');
    expect(goal?.variants.map((v) => v.mean)).toEqual([0.25, 0.5]);
    expect(clicks?.variants[1]?.difference).toBe(1);
    // Each arm's variance of the mean: (5/3)/4; the difference's: 5/6; 95 % half-width 1.96·√(5/6).
    expect(clicks?.variants[1]?.ci?.upper).toBeCloseTo(1 + 1.959963984540054 * Math.sqrt(5 / 6), 10);
    expect(r.analysis.method).toBe('fixed');
    expect(r.probabilityBest).toBeUndefined();
  });

  it('flags a guardrail harmed in its direction, and reads sequentially when asked', () => {
    const e = stored({
      analysis: { method: 'sequential' },
      metrics: {
        guardrails: [
          { id: 'errors', kind: 'count', event: { type: 'custom', name: 'error' }, higherIsBetter: false },
          { id: 'views', kind: 'count', event: { type: 'view' } },
        ],
      },
    });
    const n = 20_000;
    // errors: A mean 0.10, B mean 0.20 (Bernoulli-like); views: equal.
    const arm = (errors: number) => ({
      exposures: n,
      conversions: 0,
      [metricAttribute('errors', 's')]: errors,
      [metricAttribute('errors', 'q')]: errors,
      [metricAttribute('views', 's')]: n,
      [metricAttribute('views', 'q')]: 2 * n,
    });
    const r = experimentMetricResults(e, counters([arm(2000), arm(4000)]));
    expect(r.guardrailsHarmed).toEqual(['errors']);
    expect(r.metrics.find((m) => m.id === 'errors')?.harmedBy).toEqual(['B']);
    expect(r.metrics.find((m) => m.id === 'views')?.harmedBy).toEqual([]);
    expect(r.analysis.reference).toMatch(/Howard et al\. 2021/);
  });

  it('adjusts by CUPED when asked and the covariate is there', () => {
    const e = stored({ analysis: { cuped: true } });
    const arm = (conversions: number, xy: number) => ({
      exposures: 100,
      conversions,
      [metricAttribute('goal', 'x')]: 150,
      [metricAttribute('goal', 'xx')]: 400,
      [metricAttribute('goal', 'xy')]: xy,
    });
    const r = experimentMetricResults(e, counters([arm(20, 60), arm(30, 80)]));
    expect(r.metrics[0]?.cupedTheta).toBeGreaterThan(0);
    const plain = experimentMetricResults(stored({}), counters([arm(20, 60), arm(30, 80)]));
    expect(r.metrics[0]?.variants[1]?.variance).toBeLessThan(
      plain.metrics[0]?.variants[1]?.variance as number,
    );
  });

  it('reallocates a bandit after its burn-in, toward the better arm, keeping the floor', () => {
    const e = stored({ mode: 'bandit', bandit: { explorationFloor: 0.1 } });
    expect(
      banditAllocation(
        e,
        counters([
          { exposures: 10, conversions: 1 },
          { exposures: 50, conversions: 9 },
        ]),
        now,
      ),
    ).toBeUndefined();
    const a = banditAllocation(
      e,
      counters([
        { exposures: 500, conversions: 40 },
        { exposures: 500, conversions: 80 },
      ]),
      now,
    );
    expect(a?.weights[1]).toBeCloseTo(0.9, 3);
    expect(a?.weights[0]).toBeCloseTo(0.1, 3);
    expect(a?.probabilityBest[1]).toBeGreaterThan(0.999);
    const r = experimentMetricResults(
      { ...e, ...(a && { allocation: a }) },
      counters([
        { exposures: 500, conversions: 40 },
        { exposures: 500, conversions: 80 },
      ]),
    );
    expect(r.probabilityBest?.B).toBe(a?.probabilityBest[1]);
  });
});
