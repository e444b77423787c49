/**
 * GrowthBook's own SDK (@growthbook/growthbook) against the local stack: it loads
 * `GET /api/features/{clientKey}`, evaluates on the "device", agrees with `/api/promotion`, and
 * its "Experiment Viewed" calls count as exposures exactly as promotion calls do.
 */
import { clearCache, GrowthBook } from '@growthbook/growthbook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  // Definitions are not cached between requests; consent is not asked for (the consent door
  // has its own tests): promotion serves every id personalised and logs every exposure.
  e2e = await startE2E({
    env: { [ENV.experimentCacheMs]: '0', [ENV.consentMode]: 'off' },
    schedules: false,
  });
});
afterAll(async () => {
  await e2e?.close();
});

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const put = async (path: string, body: unknown) => {
  const res = await e2e.call(path, { method: 'PUT', headers: admin(), json: body });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return json(res);
};

const sdk = async (attributes: Record<string, unknown> = {}) => {
  // Each SDK start fetches anew (the SDK otherwise keeps payloads a minute, per key).
  await clearCache();
  const tracked: { experiment: string; variant: string }[] = [];
  const gb = new GrowthBook({
    apiHost: e2e.url,
    clientKey: e2e.writeKey,
    attributes,
    trackingCallback: (experiment, result) => {
      tracked.push({ experiment: experiment.key, variant: result.key });
    },
  });
  const loaded = await gb.init({ timeout: 5000 });
  expect(loaded.success, String(loaded.error)).toBe(true);
  return { gb, tracked };
};

/** Map over items with at most `n` in flight. */
const pool = async <T, R>(items: readonly T[], n: number, f: (item: T) => Promise<R>): Promise<R[]> => {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i] as T);
      }
    }),
  );
  return out;
};

const promoted = async (userId: string, placement: string): Promise<string | undefined> => {
  const res = await e2e.call(`/api/promotion?${new URLSearchParams({ userId, placement })}`, {
    headers: { 'x-api-key': e2e.writeKey },
  });
  if (res.status === 204) return undefined;
  expect(res.status).toBe(200);
  return (await json(res)).variant;
};

const results = async (experimentId: string) => {
  const res = await e2e.call(`/api/experiments/${experimentId}/results`, { headers: analyst() });
  expect(res.status).toBe(200);
  return json(res);
};

// Every request of these tests goes through the whole local stack: generous time per test.
describe('GrowthBook SDK against Pulse', { timeout: 120_000 }, () => {
  it('assigns every id exactly as /api/promotion does, and counts its "Experiment Viewed" once per person', async () => {
    await put('/api/experiments/sdk-banner', {
      placement: 'sdk_home',
      status: 'running',
      coverage: 0.7,
      goal: { type: 'conversion' },
      variants: [
        { id: 'control', weight: 1, content: { headline: 'Hello' } },
        { id: 'bold', weight: 2, content: { headline: 'HELLO' } },
        { id: 'quiet', weight: 1, content: { headline: 'hello' } },
      ],
      metrics: {
        secondary: [{ id: 'revenue', kind: 'value', event: { type: 'conversion' }, currency: 'EUR' }],
      },
    });
    const { gb, tracked } = await sdk();
    // 10,000 ids are compared with the same assignment code in test/unit/growthbook.test.ts; over
    // HTTP a sample keeps the file's time reasonable on a shared machine.
    const ids = Array.from({ length: 120 }, (_, i) => `gb-user-${i}`);
    const onDevice = new Map<string, string | undefined>();
    for (const id of ids) {
      await gb.setAttributes({ id });
      const result = gb.evalFeature('sdk_home');
      onDevice.set(id, result.experimentResult?.inExperiment ? result.experimentResult.key : undefined);
    }
    const served = await pool(ids, 6, (id) => promoted(id, 'sdk_home'));
    ids.forEach((id, i) => {
      expect(onDevice.get(id), id).toBe(served[i]);
    });

    // Persons only the SDK saw: their tracking calls go through /v1/track and /api/engagement.
    const sdkOnly = Array.from({ length: 30 }, (_, i) => `gb-device-${i}`);
    const viewed: { id: string; variant: string }[] = [];
    for (const id of sdkOnly) {
      tracked.length = 0;
      await gb.setAttributes({ id });
      gb.evalFeature('sdk_home');
      for (const t of tracked) if (t.experiment === 'sdk-banner') viewed.push({ id, variant: t.variant });
    }
    gb.destroy();
    expect(viewed.length).toBeGreaterThan(12);
    // Half through Segment's /v1/track, half through /api/engagement/custom, each sent twice
    // (SDKs report again on every evaluation), and some promotion ids report too.
    const seen = [
      ...viewed,
      ...ids
        .slice(0, 20)
        .flatMap((id) =>
          served[ids.indexOf(id)] ? [{ id, variant: served[ids.indexOf(id)] as string }] : [],
        ),
    ];
    for (const [i, v] of seen.entries())
      for (let copy = 0; copy < 2; copy++) {
        const res =
          i % 2 === 0
            ? await e2e.call('/v1/track', {
                method: 'POST',
                headers: { 'x-api-key': e2e.writeKey },
                json: {
                  type: 'track',
                  event: 'Experiment Viewed',
                  userId: v.id,
                  messageId: `${v.id}-viewed-${copy}`,
                  properties: { experimentId: 'sdk-banner', variationId: v.variant },
                },
              })
            : await e2e.call('/api/engagement/custom', {
                method: 'POST',
                headers: { 'x-api-key': e2e.writeKey },
                json: validEvent('custom', {
                  userId: v.id,
                  name: 'Experiment Viewed',
                  channel: 'web',
                  properties: { experimentId: 'sdk-banner', variationId: v.variant },
                }),
              });
        expect(res.status, await res.clone().text()).toBeLessThan(300);
      }

    const expected = new Map<string, number>();
    for (const v of served) if (v) expected.set(v, (expected.get(v) ?? 0) + 1);
    for (const v of viewed) expected.set(v.variant, (expected.get(v.variant) ?? 0) + 1);
    await e2e.drained();
    await eventually(async () => {
      const body = await results('sdk-banner');
      for (const arm of body.variants) expect(arm.exposures, arm.id).toBe(expected.get(arm.id) ?? 0);
    });
  });

  it('serves flags by their rules and 404s a revoked client key', async () => {
    await put('/api/flags/new-nav', {
      defaultValue: false,
      rules: [{ targeting: { tagsAny: ['staff'] }, value: true }],
      description: 'internal: ship after QA',
    });
    const payload = await json(await e2e.call(`/api/features/${e2e.writeKey}`));
    expect(JSON.stringify(payload)).not.toContain('internal');
    const { gb } = await sdk({ id: 'someone', tags: ['staff'] });
    expect(gb.isOn('new-nav')).toBe(true);
    await gb.setAttributes({ id: 'someone-else', tags: [] });
    expect(gb.isOn('new-nav')).toBe(false);
    gb.destroy();
    expect((await e2e.call('/api/features/pk_not-a-key')).status).toBe(404);

    const source = async () =>
      json(
        await e2e.call('/api/sources', {
          method: 'POST',
          headers: admin(),
          json: { name: 'app', channel: 'ios' },
        }),
      );
    const live = await source();
    expect((await e2e.call(`/api/features/${live.writeKey}`)).status).toBe(200);
    // Revoked (before any container cached it; a cached key stops working within a minute).
    const revoked = await source();
    const deleted = await e2e.call(`/api/sources/${revoked.sourceId}`, {
      method: 'DELETE',
      headers: admin(),
    });
    expect(deleted.status).toBeLessThan(300);
    expect((await e2e.call(`/api/features/${revoked.writeKey}`)).status).toBe(404);
  });

  it('holds out the holdout group in both the SDK and /api/promotion', async () => {
    await put('/api/experiments/sdk-hold-test', {
      placement: 'sdk_hold_home',
      status: 'running',
      goal: { type: 'conversion' },
      variants: [
        { id: 'A', weight: 1, content: { a: 1 } },
        { id: 'B', weight: 1, content: { b: 1 } },
      ],
    });
    // A holdout of one placement ("*" would hold out of every placement).
    await put('/api/experiments/sdk-holdout', {
      placement: 'sdk_hold_home',
      status: 'running',
      mode: 'holdout',
      goal: { type: 'conversion' },
      variants: [
        { id: 'held-out', weight: 10, content: {} },
        { id: 'exposed', weight: 90, content: {} },
      ],
    });
    const { gb } = await sdk();
    const ids = Array.from({ length: 80 }, (_, i) => `gb-hold-${i}`);
    const servers = await pool(ids, 6, (id) => promoted(id, 'sdk_hold_home'));
    let held = 0;
    for (const [i, id] of ids.entries()) {
      await gb.setAttributes({ id });
      const result = gb.evalFeature('sdk_hold_home');
      // Held out: the holdout's rule answers the default (null), as the server's 204 does.
      const isHeld = result.value === null && result.experimentResult?.key === 'held-out';
      const device =
        !isHeld && result.experimentResult?.inExperiment ? result.experimentResult.key : undefined;
      expect(device, id).toBe(servers[i]);
      if (isHeld) held++;
    }
    gb.destroy();
    expect(held).toBeGreaterThan(1);
    await e2e.drained();
    await eventually(async () => {
      const body = await results('sdk-holdout');
      const total = body.variants.reduce((s: number, v: { exposures: number }) => s + v.exposures, 0);
      expect(total).toBe(ids.length);
      expect(body.variants[0].exposures).toBe(held);
    });
  });

  it('moves a bandit toward its best arm on schedule; assigned persons keep their arm', async () => {
    await put('/api/experiments/sdk-bandit', {
      placement: 'sdk_checkout',
      status: 'running',
      mode: 'bandit',
      bandit: { explorationFloor: 0.1 },
      goal: { type: 'conversion' },
      variants: [
        { id: 'a', weight: 1, content: { c: 'a' } },
        { id: 'b', weight: 1, content: { c: 'b' } },
      ],
    });
    const ids = Array.from({ length: 70 }, (_, i) => `gb-bandit-${i}`);
    const first = await pool(ids, 6, (id) => promoted(id, 'sdk_checkout'));
    // Arm b converts everyone, arm a nobody.
    await pool(
      ids.filter((_, i) => first[i] === 'b'),
      6,
      async (id) => {
        const res = await e2e.call('/api/engagement/conversion', {
          method: 'POST',
          headers: { 'x-api-key': e2e.writeKey },
          json: validEvent('conversion', {
            userId: id,
            timestamp: new Date(Date.now() + 1500).toISOString(),
          }),
        });
        expect(res.status).toBe(202);
      },
    );
    await e2e.drained();
    await eventually(async () => {
      const body = await results('sdk-bandit');
      expect(body.variants[1].conversions).toBe(first.filter((v) => v === 'b').length);
    });
    const run = (await e2e.stack.runSchedule('experiments-bandit')) as { reallocated: string[] };
    expect(run.reallocated).toContain('sdk-bandit');
    const body = await results('sdk-bandit');
    expect(body.allocation.weights[1]).toBeCloseTo(0.9, 2);
    expect(body.probabilityBest.b).toBeGreaterThan(0.99);
    expect(body.srm.pValue).toBeNull();
    // The payload carries the new weights; earlier persons keep their arm on the server.
    const payload = await json(await e2e.call(`/api/features/${e2e.writeKey}`));
    expect(payload.features.sdk_checkout.rules.at(-1).weights[1]).toBeCloseTo(0.9, 2);
    const again = await pool(ids.slice(0, 20), 6, (id) => promoted(id, 'sdk_checkout'));
    expect(again).toEqual(first.slice(0, 20));
  });
});
