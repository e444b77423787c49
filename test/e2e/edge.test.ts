/**
 * Clean data at the edge over HTTP, on the local stack: a bot's clicks are left out of a campaign
 * and an experiment while a person's count; a tracking plan in `block` mode rejects with the
 * path, and once switched to `warn`, a replay of the quarantine makes the records count — once,
 * however often it is replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

const BROWSER =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const CRAWLER = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const LIMIT = 20;

let e2e: E2E;
let browserKey: string;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  e2e = await startE2E({
    env: {
      [ENV.experimentCacheMs]: '0',
      [ENV.planCacheMs]: '0',
      [ENV.botMaxEventsPerMinute]: String(LIMIT),
      // The browser source below names user ids without user hashes.
      [ENV.identityVerification]: 'off',
    },
  });
  // A browser (client) source: its requests' user agents are the persons' (a server source's are
  // its servers', and are not judged).
  const created = await e2e.call('/api/sources', {
    method: 'POST',
    headers: admin(),
    json: { name: 'browser', channel: 'web', kind: 'client' },
  });
  browserKey = (await json(created)).writeKey;
  for (const subject of ['person-1', 'crawler-1', 'fast-1', 'planned-1'])
    tokens[subject] = await e2e.consent(subject);
});
afterAll(() => e2e?.close());

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const as = (subject: string, userAgent: string) => ({
  'x-api-key': browserKey,
  'x-consent-token': tokens[subject] as string,
  'user-agent': userAgent,
});
const send = (subject: string, userAgent: string, events: Record<string, unknown>[]) =>
  e2e.call('/api/engagement/events', { method: 'POST', headers: as(subject, userAgent), json: { events } });

describe('bots at the edge', () => {
  it("leaves a bot's clicks out of a campaign and an experiment, while a person's count", async () => {
    const put = await e2e.call('/api/experiments/exp-edge', {
      method: 'PUT',
      headers: admin(),
      json: {
        placement: 'edge-hero',
        status: 'running',
        variants: [
          { id: 'A', weight: 50, content: { headline: 'A' } },
          { id: 'B', weight: 50, content: { headline: 'B' } },
        ],
        targeting: {},
        coverage: 1,
        goal: { type: 'click' },
      },
    });
    expect(put.status).toBe(201);
    const promote = (subject: string, userAgent: string) =>
      e2e.call(`/api/promotion?placement=edge-hero&userId=${subject}`, { headers: as(subject, userAgent) });

    const served = await json(await promote('person-1', BROWSER));
    expect(served).toMatchObject({ experimentId: 'exp-edge', personalized: true });
    const crawled = await promote('crawler-1', CRAWLER);
    expect(await json(crawled)).toMatchObject({ variant: 'A', personalized: false });

    const click = (userId: string, i: number) =>
      validEvent('click', {
        userId,
        eventId: `${userId}-${i}`,
        campaignId: 'edge-camp',
        // After the exposure: the experiment's goal is a click.
        timestamp: new Date().toISOString(),
      });
    // The person: 2 clicks, device type left to the user agent.
    const person = await send(
      'person-1',
      BROWSER,
      [0, 1].map((i) => ({ ...click('person-1', i), deviceType: undefined })),
    );
    expect(person.status).toBe(202);
    // A crawler by its user agent: 5 clicks.
    expect(
      (
        await send(
          'crawler-1',
          CRAWLER,
          [0, 1, 2, 3, 4].map((i) => click('crawler-1', i)),
        )
      ).status,
    ).toBe(202);
    // A script with a browser's user agent, but 30 clicks in a minute: the first LIMIT count.
    const burst = Array.from({ length: 30 }, (_, i) => click('fast-1', i));
    expect((await send('fast-1', BROWSER, burst)).status).toBe(202);

    const report = await eventually(async () => {
      const res = await e2e.call('/api/metrics/campaigns/edge-camp', { headers: analyst() });
      const body = await json(res);
      expect([res.status, body.events + body.botEventsExcluded]).toEqual([200, 2 + 5 + 30]);
      return body;
    });
    expect(report.totals.click).toBe(2 + LIMIT);
    expect(report.botEventsExcluded).toBe(5 + (30 - LIMIT));
    expect(report.uniqueUsers).toBe(2);
    expect(report.byDeviceType).toMatchObject({ mobile: 2 + LIMIT });

    const results = await eventually(async () => {
      const body = await json(await e2e.call('/api/experiments/exp-edge/results', { headers: analyst() }));
      const exposures = body.variants.reduce((n: number, v: { exposures: number }) => n + v.exposures, 0);
      const conversions = body.variants.reduce(
        (n: number, v: { conversions: number }) => n + v.conversions,
        0,
      );
      expect([exposures, conversions]).toEqual([1, 1]);
      return body;
    });
    expect(results.variants.find((v: { exposures: number }) => v.exposures === 1)?.id).toBe(served.variant);
  });
});

describe('tracking plans and the quarantine replay', () => {
  const schema = {
    type: 'object',
    properties: { price: { type: 'number' }, campaignId: { type: 'string' } },
    required: ['price'],
  };
  const planned = (mode: string) =>
    e2e.call(`/api/tracking-plan/events/${encodeURIComponent('Order Placed')}`, {
      method: 'PUT',
      headers: admin(),
      json: { mode, schema },
    });

  it('blocks with the schema path, quarantines Segment messages, and replays them once switched to warn', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    expect((await planned('block')).status).toBe(201);
    expect(
      (
        await e2e.call('/api/tracking-plan/events/x', {
          method: 'PUT',
          headers: admin(),
          json: { mode: 'block', schema: { type: 7 } },
        })
      ).status,
    ).toBe(400);

    const blocked = await e2e.call('/api/engagement/custom', {
      method: 'POST',
      headers: as('planned-1', BROWSER),
      json: validEvent('custom', {
        userId: 'planned-1',
        name: 'Order Placed',
        campaignId: 'plan-camp',
        properties: { price: 'free' },
      }),
    });
    expect(blocked.status).toBe(400);
    expect((await json(blocked)).errors[0]).toMatchObject({
      path: 'properties.price',
      message: expect.stringContaining('#/properties/price/type'),
    });

    const messages = [0, 1, 2].map((i) => ({
      type: 'track',
      messageId: `plan-${i}`,
      userId: 'planned-1',
      event: 'Order Placed',
      properties: { price: 'free', campaignId: 'plan-camp' },
      timestamp: new Date().toISOString(),
      context: { consent: { token: tokens['planned-1'] } },
    }));
    const batch = await e2e.call('/v1/batch', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: {
        batch: [
          ...messages,
          { ...messages[0], messageId: 'plan-ok', properties: { price: 3, campaignId: 'plan-camp' } },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(
      (await json(batch)).rejected.map((r: { errors: { path: string }[] }) => r.errors[0]?.path),
    ).toEqual(['batch.0.properties.price', 'batch.1.properties.price', 'batch.2.properties.price']);

    const violations = await json(await e2e.call('/api/tracking-plan/violations', { headers: analyst() }));
    expect(violations.items[0]).toMatchObject({
      event: 'Order Placed',
      mode: 'block',
      keyword: 'type',
      schemaPath: '#/properties/price/type',
      count: 4,
      example: { path: '/price' },
    });
    expect(JSON.stringify(violations)).not.toContain('free');

    // While blocked, a replay changes nothing.
    const replay = () =>
      e2e.call('/api/quarantine/replays', {
        method: 'POST',
        headers: admin(),
        json: { from: since, to: new Date(Date.now() + 1000).toISOString(), reason: 'tracking plan' },
      });
    const still = await json(await replay());
    expect(still).toMatchObject({ scanned: 3, replayed: 0, stillRejected: 3 });
    expect(still.reasons[0].reason).toContain('properties.price');

    expect((await planned('warn')).status).toBe(200);
    const first = await json(await replay());
    expect(first, JSON.stringify(first)).toMatchObject({
      scanned: 3,
      replayed: 3,
      stillRejected: 0,
    });
    expect([...first.eventIds].sort()).toEqual(['plan-0', 'plan-1', 'plan-2']);
    const countOf = async () =>
      json(await e2e.call('/api/metrics/campaigns/plan-camp', { headers: analyst() }));
    await eventually(async () => expect((await countOf()).totals.custom).toBe(4));
    // A second replay is safe: dedup keeps the original ids from counting twice.
    expect(await json(await replay())).toMatchObject({ replayed: 3 });
    await e2e.drained();
    expect((await countOf()).totals.custom).toBe(4);
  });

  it('keeps plans to admins and violations to analysts', async () => {
    expect(
      (
        await e2e.call('/api/tracking-plan/events/x', {
          method: 'PUT',
          headers: analyst(),
          json: { mode: 'warn', schema: {} },
        })
      ).status,
    ).toBe(403);
    expect(
      (await e2e.call('/api/tracking-plan/violations', { headers: { 'x-api-key': e2e.writeKey } })).status,
    ).toBe(401);
    expect(
      (
        await e2e.call('/api/quarantine/replays', {
          method: 'POST',
          headers: analyst(),
          json: { from: new Date(0).toISOString(), to: new Date().toISOString() },
        })
      ).status,
    ).toBe(403);
    const list = await json(await e2e.call('/api/tracking-plan/events', { headers: analyst() }));
    expect(list.items.map((i: { name: string }) => i.name)).toContain('Order Placed');
  });
});
