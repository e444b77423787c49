/**
 * One person across channels: browses the web anonymously, logs in on iOS, clicks an e-mail
 * link. One profile, every event once; a rule's tag appears when it holds and leaves when its
 * window passes; erasure removes the person from every profile and listing, under every id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ schedules: false });
});
afterAll(() => e2e?.close());

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const send = (events: Record<string, unknown>[], token: string) =>
  e2e.call('/api/engagement/events', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
    json: { events },
  });
const profile = async (id: string) => json(await e2e.call(`/api/users/${id}`, { headers: analyst() }));
const members = async (tag: string) =>
  ((await json(await e2e.call(`/api/segments/${tag}/users`, { headers: analyst() }))).items ?? []).map(
    (m: { personKey?: string; userId?: string }) => m.personKey ?? m.userId,
  );

describe('a cross-channel journey', () => {
  it('joins web, iOS and e-mail into one profile, with every event once', async () => {
    const rule = await e2e.call('/api/segments/rules/viewers', {
      method: 'PUT',
      headers: admin(),
      json: { tag: 'viewer', when: { type: 'view', atLeast: 3, withinDays: 1 } },
    });
    expect(rule.status).toBeLessThan(300);

    // 1. Anonymous on the web, consent from the cookie banner.
    const anonToken = await e2e.consent('anon-jo');
    const web = [0, 1].map((i) =>
      validEvent('view', {
        eventId: `web-${i}`,
        userId: undefined,
        anonymousId: 'anon-jo',
        channel: 'web',
        campaignId: 'journey',
      }),
    );
    expect((await send(web, anonToken)).status).toBe(202);

    // 2. Logs in on iOS: identify links the web id to the user; later events carry the user id.
    const userToken = await e2e.consent('jo');
    // The link moves the web device's history: it needs the device's consent (its token).
    const identify = await e2e.call('/api/identify', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': anonToken },
      json: { anonymousId: 'anon-jo', userId: 'jo', channel: 'ios' },
    });
    expect(identify.status).toBe(202);
    const selfLink = await e2e.call('/api/identify', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': userToken },
      json: { anonymousId: 'jo', userId: 'jo' },
    });
    expect(selfLink.status).toBe(400);
    expect((await json(selfLink)).errors).toEqual([
      { path: 'anonymousId', message: 'An id cannot be linked to itself' },
    ]);
    const ios = [
      validEvent('view', {
        eventId: 'ios-1',
        userId: 'jo',
        channel: 'ios',
        deviceType: 'mobile',
        campaignId: 'journey',
      }),
    ];
    expect((await send(ios, userToken)).status).toBe(202);
    // A web event still in flight under the anonymous id, and a client retry of an old one.
    expect(
      (
        await send(
          [
            validEvent('click', {
              eventId: 'web-2',
              userId: undefined,
              anonymousId: 'anon-jo',
              channel: 'web',
              campaignId: 'journey',
            }),
            web[0] as Record<string, unknown>,
          ],
          anonToken,
        )
      ).status,
    ).toBe(202);

    // 3. Clicks an e-mail link.
    const link = await json(
      await e2e.call('/api/links', {
        method: 'POST',
        headers: admin(),
        json: { url: 'https://example.com/offer', campaignId: 'journey', userId: 'jo', channel: 'email' },
      }),
    );
    const followed = await fetch(link.href, { redirect: 'manual' });
    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe('https://example.com/offer');

    const merged = await eventually(async () => {
      const p = await profile('anon-jo'); // the anonymous id resolves to the user
      expect(p.counts).toMatchObject({ view: 3, click: 2 });
      return p;
    });
    expect(JSON.stringify(merged)).toContain('anon-jo');
    expect(merged.channels).toEqual(expect.arrayContaining(['web', 'ios', 'email']));
    expect((await profile('jo')).counts).toEqual(merged.counts);

    // The rule holds (3 views today): the tag is on the profile and in the segment.
    await eventually(async () => expect(await members('viewer')).toContain('jo'));
    const tagged = await profile('jo');
    expect(JSON.stringify(tagged.tags)).toContain('rule:viewers');
    expect(await members('viewer')).not.toContain('anon-jo');

    // Two days on, with no new event, the window has passed: the sweep takes the tag away.
    await e2e.stack.runSchedule('segments-sweep', { time: new Date(Date.now() + 2 * 86_400_000) });
    expect(await members('viewer')).not.toContain('jo');

    // Campaign counts: every event once (2 web views + 1 iOS view + web click + e-mail click).
    const metrics = await json(await e2e.call('/api/metrics/campaigns/journey', { headers: analyst() }));
    expect(metrics.totals).toMatchObject({ view: 3, click: 2 });
  });

  it('erases the person under every linked id: no profile, no listing', async () => {
    await e2e.call('/api/users/jo/tags', { method: 'POST', headers: admin(), json: { tags: ['vip'] } });
    expect(await members('vip')).toContain('jo');
    const erased = await e2e.call('/api/users/anon-jo', { method: 'DELETE', headers: admin() });
    expect(erased.status).toBe(200);
    expect((await json(erased)).ids).toBe(2);
    expect(await members('vip')).not.toContain('jo');
    for (const id of ['jo', 'anon-jo'])
      expect((await e2e.call(`/api/users/${id}`, { headers: analyst() })).status).toBe(404);
  });
});
