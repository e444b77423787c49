/**
 * Users, tags, segments and tracked links over HTTP against the local stack: profiles, manual
 * tags, a rule applied to existing users by its backfill and withdrawn by the sweep when its
 * window passes (the stack's schedules driven by hand), segment listings with exact sizes, and
 * e-mail links that redirect only when signed and count a click only with stored consent.
 */
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sizeKeyOf } from '../../functions/adapters/segment-sizes';
import { signToken } from '../../functions/core/signing';
import { ENV } from '../../lib/config';
import { dynamoClient } from '../../lib/local/emulators';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  // No timers: the test runs the sweep itself, at the times it wants.
  e2e = await startE2E({ schedules: false });
});
afterAll(() => e2e?.close());

const DAY = 86_400_000;
const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const sweep = (time?: Date) => e2e.stack.runSchedule('segments-sweep', time ? { time } : {});

/** Events of a user, with their consent, through the ingest API. */
const track = async (userId: string, events: Record<string, unknown>[]) => {
  const consentToken = await e2e.consent(userId);
  const res = await e2e.call('/api/engagement/events', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey },
    json: { events: events.map((e) => ({ ...e, userId, consentToken })) },
  });
  expect(res.status, await res.clone().text()).toBe(202);
};
const plays = (n: number) =>
  Array.from({ length: n }, () =>
    validEvent('video-play', {
      campaignId: 'spring',
      channel: 'web',
      timestamp: new Date(Date.now() - 3600_000).toISOString(),
    }),
  );

const profile = (id: string) => e2e.call(`/api/users/${encodeURIComponent(id)}`, { headers: analyst() });
const setTags = (id: string, method: 'PUT' | 'POST', tags: unknown) =>
  e2e.call(`/api/users/${id}/tags`, { method, headers: admin(), json: { tags } });
const segment = async (tag: string) => {
  const users: { userId: string; sources: string[] }[] = [];
  let cursor: string | undefined;
  do {
    const res = await e2e.call(`/api/segments/${tag}/users?limit=1${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: analyst(),
    });
    expect(res.status).toBe(200);
    const page = await json(res);
    users.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return users;
};
const sizes = async () => {
  const res = await e2e.call('/api/segments?limit=100', { headers: analyst() });
  expect(res.status).toBe(200);
  return Object.fromEntries(
    (await json(res)).items.map((s: { tag: string; size: number }) => [s.tag, s.size]),
  );
};

describe('profiles and manual tags', () => {
  it('answers 404 for an unknown user, then the profile once events are in', async () => {
    const unknown = await profile('nobody-at-all');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(await json(unknown)).toMatchObject({ code: 'not_found' });

    await track('vera', [...plays(5), validEvent('click', { campaignId: 'spring', channel: 'ios' })]);
    const body = await eventually(async () => {
      const res = await profile('vera');
      expect(res.status).toBe(200);
      const p = await json(res);
      expect(p.counts).toEqual({ 'video-play': 5, click: 1 });
      return p;
    });
    expect(body).toMatchObject({
      userId: 'vera',
      linkedIds: [],
      channels: expect.arrayContaining(['web', 'ios']),
      firstSeen: expect.any(String),
      lastSeen: expect.any(String),
      campaigns: [{ campaignId: 'spring', lastSeen: expect.any(String) }],
      tags: [],
      consent: [{ subject: 'vera', purposes: { analytics: true, personalization: true, marketing: false } }],
    });
  });

  it('sets, adds and removes manual tags, answering every tag with its source and time', async () => {
    const put = await setTags('vera', 'PUT', ['vip', 'beta', 'vip']);
    expect(put.status).toBe(200);
    expect((await json(put)).tags).toEqual([
      { tag: 'beta', source: 'manual', setAt: expect.any(String) },
      { tag: 'vip', source: 'manual', setAt: expect.any(String) },
    ]);
    const added = await json(await setTags('vera', 'POST', ['early:2026']));
    expect(added.tags.map((t: { tag: string }) => t.tag)).toEqual(['beta', 'early:2026', 'vip']);
    const removed = await e2e.call('/api/users/vera/tags/beta', { method: 'DELETE', headers: admin() });
    expect(removed.status).toBe(200);
    expect((await json(removed)).tags.map((t: { tag: string }) => t.tag)).toEqual(['early:2026', 'vip']);
    expect((await json(await profile('vera'))).tags.map((t: { tag: string }) => t.tag)).toEqual([
      'early:2026',
      'vip',
    ]);
  });

  it('refuses bad tags, oversized lists, unknown users and the wrong role', async () => {
    const bad = await setTags('vera', 'PUT', ['ok', 'Not OK']);
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'tags.1' }] });
    expect((await json(await setTags('vera', 'POST', 'vip'))).errors[0].path).toBe('tags');
    const tooMany = await setTags(
      'vera',
      'PUT',
      Array.from({ length: 101 }, (_, i) => `t${i}`),
    );
    expect(tooMany.status).toBe(413);
    expect(await json(tooMany)).toMatchObject({ code: 'payload_too_large', limit: 'tags', maxTags: 100 });
    expect((await setTags('nobody-at-all', 'PUT', ['vip'])).status).toBe(404);
    const badTag = await e2e.call('/api/users/vera/tags/NOT%20OK', { method: 'DELETE', headers: admin() });
    expect(badTag.status).toBe(400);
    expect((await json(badTag)).errors[0].path).toBe('tag');
    const asAnalyst = await e2e.call('/api/users/vera/tags', {
      method: 'PUT',
      headers: analyst(),
      json: { tags: ['vip'] },
    });
    expect(asAnalyst.status).toBe(403);
    expect((await e2e.call('/api/users/vera')).status).toBe(401);
  });
});

describe('rules and segments', () => {
  const rule = { tag: 'frequent_viewer', when: { type: 'video-play', atLeast: 5, withinDays: 7 } };
  const putRule = (id: string, body: unknown) =>
    e2e.call(`/api/segments/rules/${id}`, { method: 'PUT', headers: admin(), json: body });

  it('refuses a malformed rule, naming the path inside it', async () => {
    const res = await putRule('broken', {
      tag: 'x',
      when: { all: [{ channel: 'web' }, { type: 'click', atLeast: 1, withinDays: 0 }] },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'when.all.1.withinDays' }],
    });
    expect((await json(await putRule('bad id!', rule))).errors[0].path).toBe('ruleId');
    expect(
      (await e2e.call('/api/segments/rules/x', { method: 'PUT', headers: analyst(), json: rule })).status,
    ).toBe(403);
  });

  it('applies a new rule to existing users, lists segments with exact sizes, and withdraws the tag when the window passes', async () => {
    // walt plays too little for the rule, but carries the same tag by hand.
    await track('walt', plays(2));
    await eventually(async () => expect((await json(await profile('walt'))).counts['video-play']).toBe(2));
    expect((await setTags('walt', 'PUT', ['frequent_viewer'])).status).toBe(200);

    const created = await putRule('frequent-viewers', rule);
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({
      ruleId: 'frequent-viewers',
      ...rule,
      backfill: { status: 'pending' },
    });
    // The same rule again changes nothing and starts no new backfill.
    const again = await putRule('frequent-viewers', rule);
    expect(again.status).toBe(200);

    await sweep();
    const tags = (await json(await profile('vera'))).tags;
    expect(tags).toContainEqual({
      tag: 'frequent_viewer',
      source: 'rule:frequent-viewers',
      setAt: expect.any(String),
    });
    expect((await json(await profile('walt'))).tags).toEqual([
      { tag: 'frequent_viewer', source: 'manual', setAt: expect.any(String) },
    ]);
    const rules = await json(await e2e.call('/api/segments/rules', { headers: analyst() }));
    expect(rules.items).toContainEqual(
      expect.objectContaining({
        ruleId: 'frequent-viewers',
        backfill: expect.objectContaining({ status: 'done' }),
      }),
    );

    expect(await sizes()).toMatchObject({ frequent_viewer: 2, vip: 1, 'early:2026': 1 });
    expect(await segment('frequent_viewer')).toEqual([
      { userId: 'vera', sources: ['rule:frequent-viewers'] },
      { userId: 'walt', sources: ['manual'] },
    ]);

    // Eight days on, with no new event: the sweep finds vera's check due and the tag leaves.
    await sweep(new Date(Date.now() + 8 * DAY));
    expect((await json(await profile('vera'))).tags.map((t: { source: string }) => t.source)).not.toContain(
      'rule:frequent-viewers',
    );
    expect(await sizes()).toMatchObject({ frequent_viewer: 1 });
    expect(await segment('frequent_viewer')).toEqual([{ userId: 'walt', sources: ['manual'] }]);

    // The sizes are the counters kept where memberships change, not a count of the members.
    const db = DynamoDBDocumentClient.from(dynamoClient(e2e.stack.endpoints.dynamodb, 'us-east-1'));
    const counter = sizeKeyOf('frequent_viewer', 'walt');
    await db.send(
      new UpdateCommand({
        TableName: e2e.stack.names.tables.tags,
        Key: counter,
        UpdateExpression: 'ADD n :k',
        ExpressionAttributeValues: { ':k': 1000 },
      }),
    );
    expect(await sizes()).toMatchObject({ frequent_viewer: 1001 });
    await db.send(
      new UpdateCommand({
        TableName: e2e.stack.names.tables.tags,
        Key: counter,
        UpdateExpression: 'ADD n :k',
        ExpressionAttributeValues: { ':k': -1000 },
      }),
    );
  });

  it('answers 404 for an unknown segment and 400 for a bad tag or cursor', async () => {
    expect((await e2e.call('/api/segments/never_used/users', { headers: analyst() })).status).toBe(404);
    expect((await e2e.call('/api/segments/Bad%20Tag/users', { headers: analyst() })).status).toBe(400);
    const cursor = await e2e.call('/api/segments/vip/users?cursor=garbage', { headers: analyst() });
    expect(cursor.status).toBe(400);
    expect((await json(cursor)).errors[0].path).toBe('cursor');
  });
});

describe('tracked e-mail links', () => {
  const link = (body: Record<string, unknown>) =>
    e2e.call('/api/links', { method: 'POST', headers: admin(), json: { channel: 'email', ...body } });
  const follow = (href: string) => fetch(href, { redirect: 'manual' });
  /** A signed token as links were made before sealed ones, with the server's key. */
  const signedLink = (kind: 'plk1' | 'pct1', over: Record<string, unknown>) => {
    const key = Buffer.from(e2e.stack.env[ENV.localSigningKey] as string, 'base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      url: 'https://shop.example/',
      cmp: 'mail-x',
      sub: 'vera',
      ch: 'email',
      iat: now,
      exp: now + 100,
    };
    return signToken(key, kind, { ...claims, ...over });
  };
  const clicks = async (campaignId: string) => {
    const res = await e2e.call(`/api/metrics/campaigns/${campaignId}`, { headers: analyst() });
    return res.status === 404 ? 0 : ((await json(res)).totals.click ?? 0);
  };

  it('signs http(s) links only, for admins', async () => {
    const js = await link({ url: 'javascript:alert(1)', campaignId: 'mail-1', userId: 'vera' });
    expect(js.status).toBe(400);
    expect((await json(js)).errors[0].path).toBe('url');
    expect(
      (await link({ url: 'https://shop.example/x', campaignId: 'mail-1', userId: 'vera', channel: 'sms' }))
        .status,
    ).toBe(400);
    const asAnalyst = await e2e.call('/api/links', {
      method: 'POST',
      headers: analyst(),
      json: { url: 'https://shop.example/x', campaignId: 'mail-1', userId: 'vera', channel: 'email' },
    });
    expect(asAnalyst.status).toBe(403);
  });

  it('redirects a signed link, counting a double click once when the user consented', async () => {
    const url = 'https://shop.example/spring?ref=mail';
    const res = await link({ url, campaignId: 'mail-spring', userId: 'vera' });
    expect(res.status).toBe(201);
    const { token, href, expiresAt } = await json(res);
    expect(href).toBe(`${e2e.url}/r/${token}`);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now() + 89 * DAY);

    const minutes = new Set<number>();
    for (let i = 0; i < 2; i++) {
      minutes.add(Math.floor(Date.now() / 60_000));
      const click = await follow(href);
      minutes.add(Math.floor(Date.now() / 60_000));
      expect(click.status).toBe(302);
      expect(click.headers.get('location')).toBe(url);
    }
    // A double click within the minute is one click (two only if the minute turned meanwhile).
    await eventually(async () => expect(await clicks('mail-spring')).toBe(minutes.size));
    const report = await json(await e2e.call('/api/metrics/campaigns/mail-spring', { headers: analyst() }));
    expect(report.byChannel).toMatchObject({ email: minutes.size });
  });

  it('redirects without counting when the user has no stored consent', async () => {
    const { href } = await json(
      await link({ url: 'https://shop.example/', campaignId: 'mail-nocons', userId: 'nora' }),
    );
    const click = await follow(href);
    expect(click.status).toBe(302);
    await e2e.stack.esm.idle();
    expect(await clicks('mail-nocons')).toBe(0);
  });

  it('answers 404 and never redirects for a tampered, forged, expired or malformed token', async () => {
    const { token } = await json(
      await link({ url: 'https://shop.example/', campaignId: 'mail-x', userId: 'vera' }),
    );
    // Links sent before sealed tokens: signed `plk1`, still followed, still tamper-proof.
    const legacy = signedLink('plk1', {});
    expect((await follow(`${e2e.url}/r/${legacy}`)).status).toBe(302);
    const [kind, payload, signature] = legacy.split('.');
    const sealed = Buffer.from(token.slice('plk2.'.length), 'base64url');
    sealed[20] = (sealed[20] as number) ^ 1;
    const evil = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
        url: 'https://evil.example/',
      }),
    ).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const expired = signedLink('plk1', { iat: now - 100, exp: now - 1 });
    const notHttp = signedLink('plk1', { url: 'javascript:alert(1)' });
    const consentToken = signedLink('pct1', {});
    for (const bad of [
      `${kind}.${evil}.${signature}`,
      `${kind}.${payload}.${'A'.repeat(43)}`,
      `${token}x`,
      `plk2.${sealed.toString('base64url')}`,
      expired,
      notHttp,
      consentToken,
      'garbage',
      'x'.repeat(9000),
    ]) {
      const res = await follow(`${e2e.url}/r/${bad}`);
      expect([bad.slice(0, 20), res.status]).toEqual([bad.slice(0, 20), 404]);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('redirects links to IDN and non-ASCII URLs, normalised when made, and never answers 500', async () => {
    const res = await link({ url: 'https://例え.jp/パス?q=値#frag', campaignId: 'mail-idn', userId: 'vera' });
    expect(res.status).toBe(201);
    const { href, token } = await json(res);
    // Opaque: neither the user nor the URL can be read from the token.
    expect(Buffer.from(token.split('.')[1], 'base64url').toString('latin1')).not.toContain('vera');
    const click = await follow(href);
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%E5%80%A4#frag');
    // A link signed before normalisation, naming the raw IDN URL, redirects too.
    const old = signedLink('plk1', { url: 'https://例え.jp/', cmp: 'mail-idn' });
    const oldClick = await follow(`${e2e.url}/r/${old}`);
    expect(oldClick.status).toBe(302);
    expect(oldClick.headers.get('location')).toBe('https://xn--r8jz45g.jp/');
    const control = await link({ url: 'https://shop.example/a\nb', campaignId: 'mail-idn', userId: 'vera' });
    expect(control.status).toBe(400);
  });
});
