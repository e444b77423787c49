import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import { exposureEventId } from '../../functions/core/experiments';
import { assignVariant } from '../../functions/core/variant-assignment';
import { ENV } from '../../lib/config';
import { dynamoClient, kinesisClient } from '../../lib/local/emulators';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';
import { readStream } from '../support/kinesis';

// The stack starts without its consumer, so the stream can be read as serving left it; the
// full-experiment test starts the consumer itself. Definitions are not cached between requests
// here (the promotion function caches them for 30 s by default).
let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [], env: { [ENV.experimentCacheMs]: '0' } });
});
afterAll(async () => {
  await e2e?.close();
});

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });

const definition = (placement: string, over: Record<string, unknown> = {}) => ({
  placement,
  status: 'running',
  variants: [
    { id: 'A', weight: 50, content: { headline: 'Spring sale', cta: 'Shop now' } },
    { id: 'B', weight: 50, content: { headline: 'Spring sale: 20 % off today', cta: 'Get 20 % off' } },
  ],
  targeting: {},
  coverage: 1,
  goal: { type: 'conversion' },
  ...over,
});
const putExperiment = (id: string, body: unknown, headers = admin()) =>
  e2e.call(`/api/experiments/${id}`, { method: 'PUT', headers, json: body });

const tokens = new Map<string, string>();
const consentFor = async (subject: string) => {
  let token = tokens.get(subject);
  if (!token) {
    token = await e2e.consent(subject);
    tokens.set(subject, token);
  }
  return token;
};
const promotion = async (
  params: Record<string, string>,
  token?: string | null,
  headers: Record<string, string> = {},
) => {
  const subject = params.userId ?? params.anonymousId;
  const consent = token === undefined && subject ? await consentFor(subject) : token;
  return e2e.call(`/api/promotion?${new URLSearchParams(params)}`, {
    headers: { 'x-api-key': e2e.writeKey, ...(consent ? { 'x-consent-token': consent } : {}), ...headers },
  });
};

const exposures = async () =>
  (await readStream(kinesisClient(e2e.stack.endpoints.kinesis, 'us-east-1'), e2e.stack.names.stream))
    .map((r) => ({ partitionKey: r.partitionKey, event: JSON.parse(r.data) }))
    .filter((r) => r.event.type === 'exposure');

describe('experiment definitions over HTTP', () => {
  it('validates with field paths, creates (201), updates (200) and reads back', async () => {
    const bad = await putExperiment('exp-defs', {
      ...definition('defs'),
      variants: [
        { id: 'A', weight: 0, content: {} },
        { id: 'A', weight: 0, content: {} },
      ],
      coverage: 2,
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect((await json(bad)).errors.map((e: { path: string }) => e.path)).toEqual([
      'coverage',
      'variants.1.id',
      'variants',
    ]);
    expect((await putExperiment('exp-defs', { ...definition('defs'), variants: [] })).status).toBe(400);
    expect((await putExperiment(encodeURIComponent('bad#id'), definition('defs'))).status).toBe(400);
    const empty = await e2e.call('/api/experiments/exp-defs', { method: 'PUT', headers: admin() });
    expect(empty.status).toBe(400);
    expect((await e2e.call('/api/experiments/a%20b/results', { headers: analyst() })).status).toBe(400);

    const created = await putExperiment('exp-defs', definition('defs', { status: 'draft' }));
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ experimentId: 'exp-defs', version: 1, status: 'draft' });
    const updated = await putExperiment('exp-defs', definition('defs', { status: 'draft', coverage: 0.5 }));
    expect(updated.status).toBe(200);
    expect(await json(updated)).toMatchObject({ version: 2, coverage: 0.5 });

    const read = await e2e.call('/api/experiments/exp-defs', { headers: analyst() });
    expect(read.status).toBe(200);
    expect(await json(read)).toMatchObject({
      experimentId: 'exp-defs',
      placement: 'defs',
      variants: [{ id: 'A' }, { id: 'B' }],
      goal: { type: 'conversion' },
    });
    expect((await e2e.call('/api/experiments/exp-nope', { headers: analyst() })).status).toBe(404);
  });

  it('keeps definitions to admins', async () => {
    expect((await putExperiment('exp-auth', definition('auth'), analyst())).status).toBe(403);
    expect((await putExperiment('exp-auth', definition('auth'), {} as never)).status).toBe(401);
    expect(
      (await e2e.call('/api/experiments/exp-defs', { headers: { 'x-api-key': e2e.writeKey } })).status,
    ).toBe(401);
  });

  it('refuses (409) to change variants or weights of a running experiment, and a second one on its placement', async () => {
    expect((await putExperiment('exp-frozen', definition('frozen'))).status).toBe(201);
    const reweighted = definition('frozen', {
      variants: [
        { id: 'A', weight: 80, content: { headline: 'Spring sale', cta: 'Shop now' } },
        { id: 'B', weight: 20, content: { headline: 'Spring sale: 20 % off today', cta: 'Get 20 % off' } },
      ],
    });
    const res = await putExperiment('exp-frozen', reweighted);
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ code: 'conflict', errors: [{ path: 'variants' }] });
    // Stopped, still frozen: results span the whole experiment.
    expect((await putExperiment('exp-frozen', definition('frozen', { status: 'stopped' }))).status).toBe(200);
    expect((await putExperiment('exp-frozen', { ...reweighted, status: 'stopped' })).status).toBe(409);
    // Coverage may change while running.
    expect((await putExperiment('exp-frozen', definition('frozen', { coverage: 0.9 }))).status).toBe(200);

    const rival = await putExperiment('exp-rival', definition('frozen'));
    expect(rival.status).toBe(409);
    expect((await json(rival)).detail).toMatch(/exp-frozen is already running/);
    expect((await putExperiment('exp-rival', definition('frozen', { status: 'draft' }))).status).toBe(201);
  });
});

describe('promotion over HTTP', () => {
  beforeAll(async () => {
    for (const [id, body] of [
      ['exp-serve', definition('serve')],
      ['exp-carry', definition('carry')],
      ['exp-forced', definition('forced')],
      ['exp-tags', definition('tags', { targeting: { tagsAny: ['vip'] } })],
      ['exp-channel', definition('channel', { targeting: { channels: ['ios'] } })],
      ['exp-nobody', definition('nobody', { coverage: 0 })],
      ['exp-restart', definition('restart')],
      ['exp-draft', definition('draft-only', { status: 'draft' })],
    ] as const)
      expect((await putExperiment(id, body)).status).toBe(201);
  });

  it('answers 204 for an unknown placement or one without a running experiment', async () => {
    expect((await promotion({ userId: 'u-204', placement: 'nowhere' })).status).toBe(204);
    expect((await promotion({ userId: 'u-204', placement: 'draft-only' })).status).toBe(204);
  });

  it('names bad parameters, and needs a write key', async () => {
    const res = await promotion({ placement: 'serve' }, null);
    expect(res.status).toBe(400);
    expect((await json(res)).errors).toEqual([
      { path: 'userId', message: 'userId or anonymousId is required' },
    ]);
    expect((await promotion({ userId: 'u', placement: 'serve', channel: 'fax' })).status).toBe(400);
    const noKey = await e2e.call('/api/promotion?userId=u&placement=serve');
    expect(noKey.status).toBe(401);
  });

  it('gives the same person the same variant and logs one exposure per person', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `serve-user-${i}`);
    const served = new Map<string, string>();
    for (const userId of users) {
      const first = await promotion({ userId, placement: 'serve' });
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toMatch(/no-store/);
      const body = await json(first);
      expect(body).toMatchObject({ experimentId: 'exp-serve', personalized: true });
      expect(body.forced).toBeUndefined();
      expect(body.content.headline).toMatch(/Spring sale/);
      served.set(userId, body.variant);
      for (let i = 0; i < 2; i++)
        expect((await json(await promotion({ userId, placement: 'serve' }))).variant).toBe(body.variant);
    }
    expect(new Set(served.values())).toEqual(new Set(['A', 'B']));

    const logged = (await exposures()).filter((r) => r.event.experimentId === 'exp-serve');
    expect(logged.map((r) => r.event.personKey).sort()).toEqual([...users].sort());
    for (const { partitionKey, event } of logged) {
      expect(partitionKey).toBe(event.personKey);
      expect(event).toMatchObject({
        type: 'exposure',
        door: 'promotion',
        eventId: exposureEventId('exp-serve', event.personKey),
        userId: event.personKey,
        variant: served.get(event.personKey),
        sourceId: e2e.sourceId,
        channel: 'web',
        deviceType: 'other',
        data: { placement: 'serve', goal: { type: 'conversion' } },
      });
    }
  });

  it('without personalization consent: the control, unpersonalised, nothing stored or logged', async () => {
    const userId = 'serve-no-consent';
    const other = await consentFor('somebody-else');
    const noPersonalization = await e2e.consent(userId, { analytics: true, personalization: false });
    for (const token of [null, other, noPersonalization, 'garbage']) {
      const res = await promotion({ userId, placement: 'serve' }, token);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({
        experimentId: 'exp-serve',
        variant: 'A',
        content: { headline: 'Spring sale', cta: 'Shop now' },
        personalized: false,
      });
    }
    expect((await exposures()).filter((r) => r.event.personKey === userId)).toEqual([]);
  });

  it('with personalization but not analytics: personalised content, no exposure', async () => {
    const userId = 'serve-no-analytics';
    const token = await e2e.consent(userId, { analytics: false, personalization: true });
    const res = await promotion({ userId, placement: 'serve' }, token);
    expect(await json(res)).toMatchObject({ experimentId: 'exp-serve', personalized: true });
    expect((await exposures()).filter((r) => r.event.personKey === userId)).toEqual([]);
  });

  it('carries an anonymous assignment over to the user at login', async () => {
    // A visitor whose own user id would bucket differently: the carry-over is visible.
    const x = { experimentId: 'exp-carry', coverage: 1, variants: definition('carry').variants };
    let n = 0;
    while (assignVariant(x, `carry-anon-${n}`) === assignVariant(x, `carry-user-${n}`)) n++;
    const anonymousId = `carry-anon-${n}`;
    const userId = `carry-user-${n}`;
    const anonymous = await json(await promotion({ anonymousId, placement: 'carry' }));
    expect(anonymous.variant).toBe(assignVariant(x, anonymousId));
    // At login the app names both ids with the user's token (a token answers only for its own id:
    // the anonymous id's alone would store an assignment on a user who never consented).
    const both = await json(
      await promotion({ userId, anonymousId, placement: 'carry' }, await consentFor(userId)),
    );
    expect(both.variant).toBe(anonymous.variant);
    expect((await json(await promotion({ userId, placement: 'carry' }))).variant).toBe(anonymous.variant);
  });

  it('forces a variant for QA with an admin token: marked, neither stored nor logged; an unknown one is a 400', async () => {
    const userId = 'qa-tester';
    const qa = { authorization: `Bearer ${e2e.admin}` };
    // Without an admin token, the override is refused (anyone with the public key would see any variant).
    const refused = await promotion({ userId, placement: 'forced', variant: 'B' });
    expect(refused.status).toBe(403);
    expect(
      (
        await json(
          await promotion({ userId, placement: 'forced', variant: 'B' }, undefined, {
            authorization: `Bearer ${e2e.analyst}`,
          }),
        )
      ).code,
    ).toBe('forbidden');
    const forced = await json(await promotion({ userId, placement: 'forced', variant: 'B' }, undefined, qa));
    expect(forced).toMatchObject({
      experimentId: 'exp-forced',
      variant: 'B',
      personalized: true,
      forced: true,
    });
    const forcedA = await json(await promotion({ userId, placement: 'forced', variant: 'A' }, undefined, qa));
    expect(forcedA).toMatchObject({ variant: 'A', forced: true });
    expect((await exposures()).filter((r) => r.event.experimentId === 'exp-forced')).toEqual([]);

    const unknown = await promotion({ userId, placement: 'forced', variant: 'Z' }, undefined, qa);
    expect(unknown.status).toBe(400);
    // The error does not list the experiment's variants.
    expect((await json(unknown)).errors).toEqual([{ path: 'variant', message: 'No such variant' }]);
    // Unforced, the tester gets their own bucket, stored now.
    const own = await json(await promotion({ userId, placement: 'forced' }));
    expect(own.forced).toBeUndefined();
  });

  it("targets by the person's tags and the request's channel; coverage 0 enrols nobody", async () => {
    expect((await promotion({ userId: 'untagged', placement: 'tags' })).status).toBe(204);
    // Tagged the way every writer tags (the tags repository's key design), not by hand.
    const db = DynamoDBDocumentClient.from(dynamoClient(e2e.stack.endpoints.dynamodb, 'us-east-1'));
    await new TagsRepository(db, e2e.stack.names.tables.tags).addManualTags('tagged', ['vip'], new Date());
    expect(await json(await promotion({ userId: 'tagged', placement: 'tags' }))).toMatchObject({
      experimentId: 'exp-tags',
      personalized: true,
    });

    // The source's channel is web: an ios-only experiment needs the request to say ios.
    expect((await promotion({ userId: 'mobile-user', placement: 'channel' })).status).toBe(204);
    expect((await promotion({ userId: 'mobile-user', placement: 'channel', channel: 'ios' })).status).toBe(
      200,
    );

    expect((await promotion({ userId: 'anyone', placement: 'nobody' })).status).toBe(204);
  });

  it('keeps assignments when an experiment is stopped and restarted', async () => {
    const userId = 'restart-user';
    const before = (await json(await promotion({ userId, placement: 'restart' }))).variant;
    expect((await putExperiment('exp-restart', definition('restart', { status: 'stopped' }))).status).toBe(
      200,
    );
    expect((await promotion({ userId, placement: 'restart' })).status).toBe(204);
    expect((await putExperiment('exp-restart', definition('restart'))).status).toBe(200);
    expect((await json(await promotion({ userId, placement: 'restart' }))).variant).toBe(before);
  });
});

describe('experiment results over HTTP', () => {
  it('404 for an unknown experiment; zeros and the method before any exposure is counted', async () => {
    expect((await e2e.call('/api/experiments/exp-unknown/results', { headers: analyst() })).status).toBe(404);
    expect((await putExperiment('exp-empty', definition('empty'))).status).toBe(201);
    const res = await e2e.call('/api/experiments/exp-empty/results', { headers: analyst() });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      experimentId: 'exp-empty',
      control: 'A',
      method: { test: expect.stringMatching(/two-proportion z-test/) },
      variants: [
        { id: 'A', exposures: 0, conversions: 0, rate: null },
        { id: 'B', exposures: 0, conversions: 0, rate: null, lift: null, pValue: null },
      ],
      srm: { pValue: null, flagged: false },
    });
    expect(
      (await e2e.call('/api/experiments/exp-empty/results', { headers: { 'x-api-key': e2e.writeKey } }))
        .status,
    ).toBe(401);
  });

  // Counts come from the stream consumer (functions/aggregate/*): exposures once per person and
  // experiment, conversions once per person for a goal event after the first exposure. The
  // consumer starts here, after the experiment exists: it caches goals for 30 s.
  it('runs a full experiment: users fetch the promotion, some convert, B shows a significant lift', async () => {
    expect((await putExperiment('exp-full', definition('full'))).status).toBe(201);
    const users = Array.from({ length: 200 }, (_, i) => `full-user-${i}`);
    const variantOf = new Map<string, string>();
    for (const userId of users)
      variantOf.set(userId, (await json(await promotion({ userId, placement: 'full' }))).variant);
    // B is built to win: 40 % of its users convert, 10 % of A's (every 10th / 4 in 10 by index).
    const converts = (userId: string, i: number) =>
      variantOf.get(userId) === 'B' ? i % 10 < 4 : i % 10 === 0;
    const expected = { A: { exposures: 0, conversions: 0 }, B: { exposures: 0, conversions: 0 } };
    for (const [i, userId] of users.entries()) {
      const arm = expected[variantOf.get(userId) as 'A' | 'B'];
      arm.exposures++;
      if (!converts(userId, i)) continue;
      arm.conversions++;
      const res = await e2e.call('/api/engagement/conversion', {
        method: 'POST',
        headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await consentFor(userId) },
        json: {
          ...validEvent('conversion', { userId, timestamp: new Date().toISOString() }),
          type: undefined,
        },
      });
      expect(res.status).toBe(202);
    }
    await e2e.startConsumer();
    const results = await eventually(async () => {
      const body = await json(await e2e.call('/api/experiments/exp-full/results', { headers: analyst() }));
      expect(body.variants.map((v: { exposures: number }) => v.exposures)).toEqual([
        expected.A.exposures,
        expected.B.exposures,
      ]);
      expect(body.variants.map((v: { conversions: number }) => v.conversions)).toEqual([
        expected.A.conversions,
        expected.B.conversions,
      ]);
      return body;
    }, 60_000);
    const [, b] = results.variants;
    expect(b.lift).toBeGreaterThan(1);
    expect(b.pValue).toBeLessThan(0.001);
    expect(b.ci.lower).toBeGreaterThan(0);
    expect(results.srm.flagged).toBe(false);
  });

  it("after identify, a device that sends only its anonymous id sees the user's variant", async () => {
    expect((await putExperiment('exp-linked', definition('linked'))).status).toBe(201);
    const x = { experimentId: 'exp-linked', coverage: 1, variants: definition('linked').variants };
    let n = 0;
    while (assignVariant(x, `linked-anon-${n}`) === assignVariant(x, `linked-user-${n}`)) n++;
    const anonymousId = `linked-anon-${n}`;
    const userId = `linked-user-${n}`;
    const mine = (await json(await promotion({ userId, placement: 'linked' }))).variant;
    const device = (await json(await promotion({ anonymousId, placement: 'linked' }))).variant;
    expect(device).not.toBe(mine);

    const identified = await e2e.call('/api/identify', {
      method: 'POST',
      // A link moves the device's history: it needs the device's (anonymous id's) consent.
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await consentFor(anonymousId) },
      json: { anonymousId, userId },
    });
    expect(identified.status).toBe(202);
    await e2e.startConsumer();
    await eventually(async () =>
      expect((await json(await promotion({ anonymousId, placement: 'linked' }))).variant).toBe(mine),
    );
  });
});
