/**
 * Predictions over HTTP against the local stack: a workload where one group converts more, a
 * propensity model declared and trained through the API (in process, the workflow's own steps),
 * explained, its top-percentile tag on that group only, a person's scores with their
 * contributions, a segment rule on the score and an experiment targeting the model's tag, and a
 * withdrawal of personalisation taking the scores and tags away, export and erasure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

const DAY = 86_400_000;
const daysAgo = (d: number, hour = 12) =>
  new Date(Math.floor(Date.now() / DAY - d) * DAY + hour * 3_600_000).toISOString();

// The sweep runs when the test says (rule backfills), not on timers.
let e2e: E2E;
beforeAll(async () => {
  // Definitions uncached, so the consumer rescores by a model the moment it is published.
  e2e = await startE2E({ schedules: false, env: { PULSE_EXPERIMENT_CACHE_MS: '0' } });
});
afterAll(() => e2e?.close());
const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });

/** 100 engaged people who went on to buy, 100 casual ones who did not (horizon: the last 7 days). */
const BUYERS = Array.from({ length: 100 }, (_, i) => `buyer-${i}`);
const BROWSERS = Array.from({ length: 100 }, (_, i) => `browser-${i}`);
const historyOf = (userId: string, buyer: boolean) =>
  buyer
    ? [
        ...[20, 13, 10].map((d) => validEvent('video-play', { userId, timestamp: daysAgo(d) })),
        validEvent('conversion', { userId, timestamp: daysAgo(3), value: 30, currency: 'EUR' }),
      ]
    : [validEvent('view', { userId, timestamp: daysAgo(15) })];

const send = async (userIds: readonly string[], buyer: boolean) => {
  const events = [];
  for (let i = 0; i < userIds.length; i += 25) {
    const batch = userIds.slice(i, i + 25);
    const tokens = await Promise.all(batch.map((userId) => e2e.consent(userId)));
    for (const [k, userId] of batch.entries())
      events.push(...historyOf(userId, buyer).map((e) => ({ ...e, consentToken: tokens[k] })));
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await e2e.call('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: { events: events.slice(i, i + 500) },
    });
    expect(res.status, await res.clone().text()).toBe(202);
  }
};

const segment = async (tag: string): Promise<string[]> => {
  const users: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await e2e.call(`/api/segments/${tag}/users?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: analyst(),
    });
    if (res.status === 404) return [];
    const page = await json(res);
    users.push(...page.items.map((m: { userId: string }) => m.userId));
    cursor = page.nextCursor;
  } while (cursor);
  return users.sort();
};

/** The model once the run that trains `version` has finished (runs go on in the background). */
const finishedRun = (version: number) =>
  eventually(async () => {
    const model = await json(await e2e.call('/api/models/buyers', { headers: analyst() }));
    expect(model.lastRun?.version).toBe(version);
    return model;
  }, 150_000);

const MODEL = {
  kind: 'propensity',
  target: { type: 'conversion' },
  horizonDays: 7,
  schedule: 'manual',
  tags: [{ tag: 'likely_buyer', when: { percentileAtLeast: 50 } }],
};

describe('a propensity model trained, explained and acting', () => {
  beforeAll(async () => {
    await send(BUYERS, true);
    await send(BROWSERS, false);
    // A shared machine can be slow: wait for the consumer as long as it takes, not a fixed time.
    await eventually(() => e2e.drained(), 200_000, 0);
  }, 240_000);

  it('refuses a bad declaration with field paths', async () => {
    const noTarget = await e2e.call('/api/models/buyers', {
      method: 'PUT',
      headers: admin(),
      json: { ...MODEL, target: undefined },
    });
    expect(noTarget.status).toBe(400);
    expect(await json(noTarget)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'target' }] });
    const badHorizon = await e2e.call('/api/models/buyers', {
      method: 'PUT',
      headers: admin(),
      json: { ...MODEL, horizonDays: 365 },
    });
    expect((await json(badHorizon)).errors[0].path).toBe('horizonDays');
    const analystPut = await e2e.call('/api/models/buyers', {
      method: 'PUT',
      headers: analyst(),
      json: MODEL,
    });
    expect(analystPut.status).toBe(403);
  });

  it('trains through the API, passes the gate, and explains itself', async () => {
    expect(
      (await e2e.call('/api/models/buyers', { method: 'PUT', headers: admin(), json: MODEL })).status,
    ).toBe(201);
    const trained = await e2e.call('/api/models/buyers/train', { method: 'POST', headers: admin() });
    expect(trained.status, await trained.clone().text()).toBe(202);
    const model = await finishedRun(1);
    expect(model.lastRun).toMatchObject({ version: 1, published: true, reasons: [], scored: 200 });
    expect(model).toMatchObject({ name: 'buyers', publishedVersion: 1 });
    const v = model.published;
    expect(v).toMatchObject({ version: 1, kind: 'propensity', published: true, horizonDays: 7 });
    expect(v.trainingRows + v.heldOutRows).toBe(200);
    expect(v.evaluation.auc.value).toBeGreaterThan(0.9);
    expect(v.evaluation.auc.baseline).toBe(0.5);
    expect(v.evaluation.logLoss.value).toBeLessThan(v.evaluation.logLoss.baseline);
    expect(v.evaluation.liftTop20.value).toBeGreaterThan(1.5);
    expect(v.coefficients.map((c: { feature: string }) => c.feature)).toContain('video-play_28');
    expect(v.importance[0].importance).toBeGreaterThan(0);
  }, 180_000);

  it('tags the group that converts more, and only it', async () => {
    expect(await segment('likely_buyer')).toEqual([...BUYERS].sort());
  });

  it("answers a person's score with its percentile and the contributions behind it", async () => {
    const res = await e2e.call('/api/users/buyer-1/scores', { headers: analyst() });
    expect(res.status).toBe(200);
    const [score] = (await json(res)).scores;
    expect(score).toMatchObject({ model: 'buyers', kind: 'propensity', version: 1, tags: ['likely_buyer'] });
    expect(score.percentile).toBeGreaterThan(50);
    expect(score.contributions.length).toBeGreaterThan(0);
    const browser = (await json(await e2e.call('/api/users/browser-1/scores', { headers: analyst() })))
      .scores[0];
    expect(browser.score).toBeLessThan(score.score);
    expect(browser.tags).toEqual([]);
    expect((await e2e.call('/api/users/nobody-here/scores', { headers: analyst() })).status).toBe(404);
  });

  it('drives a segment rule on the score and a promotion targeting the model tag', async () => {
    const rule = await e2e.call('/api/segments/rules/hot', {
      method: 'PUT',
      headers: admin(),
      json: { tag: 'hot_buyer', when: { model: 'buyers', percentileAtLeast: 60 } },
    });
    expect(rule.status, await rule.clone().text()).toBe(201);
    await eventually(async () => {
      await e2e.stack.runSchedule('segments-sweep');
      expect(await segment('hot_buyer')).toEqual([...BUYERS].sort());
    }, 60_000);

    const experiment = await e2e.call('/api/experiments/buyer-offer', {
      method: 'PUT',
      headers: admin(),
      json: {
        placement: 'checkout',
        status: 'running',
        variants: [
          { id: 'A', weight: 50, content: { headline: 'Free shipping' } },
          { id: 'B', weight: 50, content: { headline: '10 % off your next order' } },
        ],
        targeting: { tagsAny: ['likely_buyer'] },
        coverage: 1,
        goal: { type: 'conversion' },
      },
    });
    expect(experiment.status).toBe(201);
    const promotion = async (userId: string) =>
      e2e.call(`/api/promotion?${new URLSearchParams({ userId, placement: 'checkout' })}`, {
        headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(userId) },
      });
    expect(await json(await promotion('buyer-2'))).toMatchObject({
      experimentId: 'buyer-offer',
      personalized: true,
    });
    expect((await promotion('browser-2')).status).toBe(204);
  }, 120_000);

  it('keeps scores current as events arrive (a dot product, no retraining)', async () => {
    const consentToken = await e2e.consent('browser-3');
    const before = (await json(await e2e.call('/api/users/browser-3/scores', { headers: analyst() })))
      .scores[0];
    const res = await e2e.call('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: {
        events: [5, 4, 3, 2, 1].map((d) =>
          validEvent('video-play', { userId: 'browser-3', timestamp: daysAgo(d), consentToken }),
        ),
      },
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const after = (await json(await e2e.call('/api/users/browser-3/scores', { headers: analyst() })))
        .scores[0];
      expect(after.score).toBeGreaterThan(before.score);
      expect(after.version).toBe(1);
    });
  });

  it('exports the scores with the person and erases them with the person', async () => {
    const exported = await json(await e2e.call('/api/users/buyer-7/export', { headers: admin() }));
    expect(exported.stores.profile[0].scores.buyers).toMatchObject({ version: 1, tags: ['likely_buyer'] });
    expect(JSON.stringify(exported.stores.tags)).toContain('model:buyers');
    const erased = await e2e.call('/api/users/buyer-7', { method: 'DELETE', headers: admin() });
    expect(erased.status).toBe(200);
    expect((await e2e.call('/api/users/buyer-7/scores', { headers: analyst() })).status).toBe(404);
    expect(await segment('likely_buyer')).not.toContain('buyer-7');
  });

  it('removes scores and model tags when personalisation is withdrawn', async () => {
    await e2e.consent('buyer-5', { analytics: true, personalization: false });
    const scores = await json(await e2e.call('/api/users/buyer-5/scores', { headers: analyst() }));
    expect(scores.scores).toEqual([]);
    expect(await segment('likely_buyer')).not.toContain('buyer-5');
    // And the next run does not score it again.
    expect((await e2e.call('/api/models/buyers/train', { method: 'POST', headers: admin() })).status).toBe(
      202,
    );
    expect((await finishedRun(2)).lastRun.published).toBe(true);
    expect((await json(await e2e.call('/api/users/buyer-5/scores', { headers: analyst() }))).scores).toEqual(
      [],
    );
    expect(await segment('likely_buyer')).not.toContain('buyer-5');
    expect(await segment('likely_buyer')).toContain('buyer-6');
  }, 180_000);
});
