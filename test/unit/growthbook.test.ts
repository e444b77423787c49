import { GrowthBook } from '@growthbook/growthbook';
import { describe, expect, it } from 'vitest';
import { bucketableOf } from '../../functions/core/experiment-design';
import { experimentBodySchema, type StoredExperiment } from '../../functions/core/experiments';
import { flagBodySchema, type StoredFlag } from '../../functions/core/flags';
import { armRanges, sdkPayload, targetingCondition } from '../../functions/core/growthbook';
import { armFor, assignVariant, hashV2, isTargeted } from '../../functions/core/variant-assignment';

const now = new Date('2026-11-29T12:00:00Z');

const stored = (
  experimentId: string,
  body: unknown,
  extra: Partial<StoredExperiment> = {},
): StoredExperiment => ({
  ...experimentBodySchema.parse(body),
  experimentId,
  version: 1,
  createdAt: now.toISOString(),
  updatedAt: now.toISOString(),
  startedAt: now.toISOString(),
  ...extra,
});

const banner = stored('banner-test', {
  placement: 'home_banner',
  status: 'running',
  coverage: 0.6,
  goal: { type: 'conversion' },
  variants: [
    { id: 'control', weight: 30, content: { headline: 'Spring sale' } },
    { id: 'never', weight: 0, content: { headline: 'unused' } },
    { id: 'discount', weight: 50, content: { headline: '20% off' } },
    { id: 'free-ship', weight: 20, content: { headline: 'Free shipping' } },
  ],
  description: 'internal notes',
  metrics: { secondary: [{ id: 'clicks', kind: 'count', event: { type: 'click' } }] },
});

const bandit = stored(
  'checkout-bandit',
  {
    placement: 'checkout',
    status: 'running',
    mode: 'bandit',
    goal: { type: 'conversion' },
    variants: [
      { id: 'a', weight: 1, content: { c: 'a' } },
      { id: 'b', weight: 1, content: { c: 'b' } },
      { id: 'c', weight: 1, content: { c: 'c' } },
    ],
  },
  {
    allocation: {
      weights: [0.1, 0.7, 0.2],
      probabilityBest: [0.06, 0.78, 0.16],
      updatedAt: now.toISOString(),
    },
  },
);

const holdout = stored('global-holdout', {
  placement: '*',
  status: 'running',
  mode: 'holdout',
  goal: { type: 'conversion' },
  variants: [
    { id: 'held-out', weight: 5, content: {} },
    { id: 'exposed', weight: 95, content: {} },
  ],
});

const draft = stored('draft-secret', {
  placement: 'footer',
  status: 'draft',
  goal: { type: 'click' },
  variants: [
    { id: 'x', weight: 1, content: { secret: 'unreleased' } },
    { id: 'y', weight: 1, content: { secret: 'unreleased' } },
  ],
});

const flag = (key: string, body: unknown): StoredFlag => ({
  ...flagBodySchema.parse(body),
  key,
  version: 1,
  updatedAt: now.toISOString(),
});

/** What the SDK decides for a person: the experiment's key and variant, or none. */
const sdkDecision = (
  payload: ReturnType<typeof sdkPayload>,
  feature: string,
  attributes: Record<string, unknown>,
) => {
  const tracked: { experiment: string; variant: string }[] = [];
  const gb = new GrowthBook({
    features: payload.features as never,
    attributes,
    trackingCallback: (experiment, result) => {
      tracked.push({ experiment: experiment.key, variant: result.key });
    },
  });
  const result = gb.evalFeature(feature);
  gb.destroy();
  return {
    value: result.value,
    tracked,
    variant: result.experimentResult?.inExperiment ? result.experimentResult.key : undefined,
  };
};

describe('GrowthBook SDK payload', () => {
  it('ranges repeat armFor exactly, boundaries included', () => {
    const weights = [30, 0, 50, 20];
    const ranges = armRanges(weights);
    for (let i = 0; i < 10_000; i++) {
      const bucket = i / 10_000;
      const arm = ranges.findIndex(([lo, hi]) => bucket >= lo && bucket < hi);
      expect(arm).toBe(armFor(bucket, weights));
    }
    expect(ranges[1]?.[0]).toBe(ranges[1]?.[1]);
    expect(ranges[3]?.[1]).toBe(1);
  });

  it('gives the same variant as Pulse for 10,000 ids (coverage, weights, a zero-weight arm)', () => {
    const payload = sdkPayload([banner], [], 'web', now);
    let enrolled = 0;
    for (let i = 0; i < 10_000; i++) {
      const id = i % 2 === 0 ? `user-${i}` : `anon-${i.toString(36)}-${i * 7919}`;
      const pulse = assignVariant(banner, id);
      const sdk = sdkDecision(payload, 'home_banner', { id });
      expect(sdk.variant, id).toBe(pulse);
      if (pulse) {
        enrolled++;
        expect(sdk.value).toEqual(banner.variants.find((v) => v.id === pulse)?.content);
        expect(sdk.tracked).toEqual([{ experiment: 'banner-test', variant: pulse }]);
      } else expect(sdk.value).toBeNull();
    }
    // The gate lets about 60 % in.
    expect(enrolled / 10_000).toBeGreaterThan(0.57);
    expect(enrolled / 10_000).toBeLessThan(0.63);
  });

  it("assigns a bandit's new persons by its current allocation, as Pulse does", () => {
    const payload = sdkPayload([bandit], [], 'ios', now);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const id = `p${i}`;
      const pulse = assignVariant(bucketableOf(bandit), id);
      expect(sdkDecision(payload, 'checkout', { id }).variant).toBe(pulse);
      counts.set(pulse as string, (counts.get(pulse as string) ?? 0) + 1);
    }
    expect((counts.get('b') ?? 0) / 10_000).toBeCloseTo(0.7, 1);
  });

  it('holds out the holdout group (default value) and passes the rest through to the experiment', () => {
    const payload = sdkPayload([banner, holdout], [], 'web', now);
    let held = 0;
    for (let i = 0; i < 4000; i++) {
      const id = `h${i}`;
      const inHoldout = assignVariant(holdout, id) === 'held-out';
      const sdk = sdkDecision(payload, 'home_banner', { id });
      if (inHoldout) {
        held++;
        expect(sdk.value).toBeNull();
        expect(sdk.tracked).toEqual([{ experiment: 'global-holdout', variant: 'held-out' }]);
      } else {
        expect(sdk.variant).toBe(assignVariant(banner, id));
        expect(sdk.tracked[0]).toEqual({ experiment: 'global-holdout', variant: 'exposed' });
      }
    }
    expect(held / 4000).toBeGreaterThan(0.035);
    expect(held / 4000).toBeLessThan(0.065);
  });

  it('evaluates targeting as Pulse does: tags, exclusions, segments, channel, device', () => {
    const targeting = {
      tagsAny: ['vip', 'loyal'],
      tagsNone: ['churned'],
      segments: ['eu'],
      channels: ['web', 'ios'] as ('web' | 'ios')[],
      deviceTypes: ['mobile', 'other'] as ('mobile' | 'other')[],
    };
    const condition = targetingCondition(targeting, 'web');
    const cases: {
      tags: string[];
      channel?: 'web' | 'ios' | 'android';
      deviceType?: 'mobile' | 'desktop';
    }[] = [
      { tags: ['vip', 'eu'] },
      { tags: ['vip', 'eu'], channel: 'android' },
      { tags: ['vip', 'eu', 'churned'], channel: 'ios' },
      { tags: ['loyal'], channel: 'ios' },
      { tags: ['loyal', 'eu'], channel: 'ios', deviceType: 'desktop' },
      { tags: ['loyal', 'eu'], channel: 'ios', deviceType: 'mobile' },
      { tags: [] },
    ];
    const e = stored('t', {
      placement: 'p',
      status: 'running',
      goal: { type: 'click' },
      targeting,
      variants: [
        { id: 'a', weight: 1, content: {} },
        { id: 'b', weight: 1, content: {} },
      ],
    });
    const payload = sdkPayload([e], [], 'web', now);
    for (const c of cases) {
      const pulse = isTargeted(targeting, {
        tags: new Set(c.tags),
        channel: c.channel ?? 'web',
        deviceType: c.deviceType,
      });
      const attributes = {
        id: 'someone',
        tags: c.tags,
        ...(c.channel && { channel: c.channel }),
        ...(c.deviceType && { deviceType: c.deviceType }),
      };
      expect(sdkDecision(payload, 'p', attributes).variant !== undefined, JSON.stringify(c)).toBe(pulse);
    }
    expect(condition).toHaveProperty('$and');
  });

  it('serves flags: default, targeted rules in order, rollout by hash', () => {
    const f = flag('new-checkout', {
      defaultValue: false,
      rules: [
        { targeting: { tagsAny: ['staff'] }, value: true },
        { rollout: 0.25, value: true },
      ],
    });
    const payload = sdkPayload([], [f, flag('off', { defaultValue: 1, enabled: false })], 'web', now);
    expect(payload.features.off).toBeUndefined();
    expect(sdkDecision(payload, 'new-checkout', { id: 'x', tags: ['staff'] }).value).toBe(true);
    let on = 0;
    for (let i = 0; i < 4000; i++) {
      const id = `f${i}`;
      const value = sdkDecision(payload, 'new-checkout', { id, tags: [] }).value;
      // GrowthBook's rollout: hash v2 of seed + id ≤ coverage.
      expect(value).toBe(hashV2('new-checkout:1', id) <= 0.25);
      if (value) on++;
    }
    expect(on / 4000).toBeCloseTo(0.25, 1);
  });

  it('leaks nothing but what the SDK needs', () => {
    const payload = sdkPayload(
      [banner, draft, holdout],
      [flag('f', { defaultValue: 0, description: 'ops note' })],
      'web',
      now,
    );
    const text = JSON.stringify(payload);
    for (const secret of [
      'internal notes',
      'unreleased',
      'draft-secret',
      'ops note',
      'clicks',
      'conversion',
      'goal',
    ])
      expect(text).not.toContain(secret);
    expect(Object.keys(payload.features).sort()).toEqual(['f', 'home_banner']);
    expect(Object.keys(payload.features.home_banner?.rules?.[1] ?? {}).sort()).toEqual(
      [
        'filters',
        'hashAttribute',
        'hashVersion',
        'key',
        'meta',
        'ranges',
        'seed',
        'variations',
        'weights',
      ].sort(),
    );
  });
});
