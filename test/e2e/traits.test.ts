/**
 * Traits over HTTP against the local stack: declarations, identify with traits (ignored,
 * refused, hashed), a segment rule on a trait, a promotion targeted at that rule's tag, a bulk
 * import through the presigned upload URL and the import schedule, a connector's settings and
 * status, and erasure. (The whole journey, out again as an audience: crm-journey.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type E2E, eventually, json, startE2E } from '../support/e2e';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ schedules: false, env: { [ENV.experimentCacheMs]: '0' } });
});
afterAll(() => e2e?.close());

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const declare = (name: string, body: unknown) =>
  e2e.call(`/api/traits/${name}`, { method: 'PUT', headers: admin(), json: body });
const identify = async (body: Record<string, unknown>, subject: string) =>
  e2e.call('/api/identify', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(subject) },
    json: body,
  });
const profile = async (id: string) => json(await e2e.call(`/api/users/${id}`, { headers: analyst() }));

describe('declared traits', () => {
  it('declares, lists, and refuses a bad declaration by path', async () => {
    expect((await declare('plan', { type: 'string', purpose: 'personalization' })).status).toBe(201);
    expect(
      (await declare('plan', { type: 'string', purpose: 'personalization', description: 'Billing plan' }))
        .status,
    ).toBe(200);
    expect((await declare('seats', { type: 'number', purpose: 'analytics' })).status).toBe(201);
    expect((await declare('email', { type: 'string', pii: 'hash', purpose: 'marketing' })).status).toBe(201);
    expect((await declare('ssn', { type: 'string', pii: 'reject', purpose: 'analytics' })).status).toBe(201);
    const badName = await declare('9lives', { type: 'string', purpose: 'analytics' });
    expect((await json(badName)).errors.map((e: { path: string }) => e.path)).toEqual(['name']);
    const bad = await declare('lives', { type: 'map', purpose: 'analytics', pii: 'maybe' });
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors.map((e: { path: string }) => e.path).sort()).toEqual(['pii', 'type']);
    const list = await json(await e2e.call('/api/traits', { headers: admin() }));
    expect(list.items.map((d: { name: string }) => d.name)).toEqual(['email', 'plan', 'seats', 'ssn']);
    expect((await e2e.call('/api/traits', { headers: analyst() })).status).toBe(403);
  });

  it('identify sets declared traits, names the ignored ones, refuses wrong types and reject traits', async () => {
    const wrong = await identify({ userId: 'tess', traits: { seats: 'ten', ssn: '123' } }, 'tess');
    expect(wrong.status).toBe(400);
    expect((await json(wrong)).errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'traits.seats',
      'traits.ssn',
    ]);

    const ok = await identify(
      { userId: 'tess', traits: { plan: 'pro', seats: 12, email: 'Tess@Example.com', shoeSize: 41 } },
      'tess',
    );
    expect(ok.status).toBe(202);
    expect(await json(ok)).toMatchObject({ accepted: 1, ignoredTraits: ['shoeSize'] });
    const p = await eventually(async () => {
      const body = await profile('tess');
      expect(body.traits.plan).toBe('pro');
      return body;
    });
    expect(p.traits.seats).toBe(12);
    expect(p.traits.email).toMatch(/^h1:/);
    expect(JSON.stringify(p)).not.toMatch(/Example|shoeSize/);
  });

  it("Segment's identify sets traits too", async () => {
    const res = await e2e.call('/v1/identify', {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${e2e.writeKey}:`).toString('base64')}` },
      json: {
        userId: 'sid',
        messageId: 'm-sid-1',
        traits: { plan: 'team', nickname: 'S' },
        context: { consent: { token: await e2e.consent('sid') } },
      },
    });
    expect(res.status).toBe(200);
    await eventually(async () => expect((await profile('sid')).traits).toEqual({ plan: 'team' }));
  });
});

describe('targeting on traits', () => {
  it('a rule on a trait tags people, and a promotion targets the tag', async () => {
    const rule = await e2e.call('/api/segments/rules/pro-plan', {
      method: 'PUT',
      headers: admin(),
      json: {
        tag: 'pro_plan',
        when: {
          all: [
            { trait: 'plan', in: ['pro', 'team'] },
            { trait: 'seats', gt: 10 },
          ],
        },
      },
    });
    expect(rule.status, await rule.clone().text()).toBe(201);
    const badRule = await e2e.call('/api/segments/rules/bad', {
      method: 'PUT',
      headers: admin(),
      json: { tag: 'x', when: { trait: 'plan', equals: 'a', exists: true } },
    });
    expect((await json(badRule)).errors).toEqual([{ path: 'when.exists', message: expect.any(String) }]);

    await identify({ userId: 'uma', traits: { plan: 'free', seats: 50 } }, 'uma');
    await eventually(async () => expect((await profile('uma')).traits.seats).toBe(50));
    // The new rule reaches people already known through its backfill (the sweep runs it).
    await eventually(async () => {
      await e2e.stack.runSchedule('segments-sweep');
      expect((await profile('tess')).tags.map((t: { tag: string }) => t.tag)).toContain('pro_plan');
    });
    expect((await profile('uma')).tags.map((t: { tag: string }) => t.tag)).not.toContain('pro_plan');

    const experiment = await e2e.call('/api/experiments/exp-pro', {
      method: 'PUT',
      headers: admin(),
      json: {
        placement: 'pro-banner',
        status: 'running',
        variants: [
          { id: 'A', weight: 50, content: { headline: 'Thanks for going pro' } },
          { id: 'B', weight: 50, content: { headline: 'Pro tip: invite your team' } },
        ],
        targeting: { tagsAny: ['pro_plan'] },
        goal: { type: 'conversion' },
      },
    });
    expect(experiment.status).toBe(201);
    const promote = async (userId: string) =>
      e2e.call(`/api/promotion?${new URLSearchParams({ userId, placement: 'pro-banner' })}`, {
        headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(userId) },
      });
    expect((await promote('tess')).status).toBe(200);
    expect((await promote('uma')).status).toBe(204);

    // An audience by trait directly: the promotion reads the profile's traits.
    const byTrait = await e2e.call('/api/experiments/exp-big-teams', {
      method: 'PUT',
      headers: admin(),
      json: {
        placement: 'big-teams',
        status: 'running',
        variants: [
          { id: 'A', weight: 50, content: { headline: 'Seats for everyone' } },
          { id: 'B', weight: 50, content: { headline: 'Volume pricing' } },
        ],
        targeting: { traits: [{ trait: 'seats', gt: 20 }] },
        goal: { type: 'conversion' },
      },
    });
    expect(byTrait.status, await byTrait.clone().text()).toBe(201);
    const badTarget = await e2e.call('/api/experiments/exp-bad-target', {
      method: 'PUT',
      headers: admin(),
      json: { ...(await json(byTrait)), targeting: { traits: [{ trait: 'seats' }] } },
    });
    expect(badTarget.status).toBe(400);
    const serve = async (userId: string) =>
      e2e.call(`/api/promotion?${new URLSearchParams({ userId, placement: 'big-teams' })}`, {
        headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(userId) },
      });
    expect((await serve('uma')).status).toBe(200);
    expect((await serve('tess')).status).toBe(204);
  });
});

describe('bulk import and connectors', () => {
  it('imports a CSV through the presigned upload and reports the bad line', async () => {
    for (const u of ['imp-a', 'imp-b']) await e2e.consent(u);
    const created = await e2e.call('/api/imports', {
      method: 'POST',
      headers: admin(),
      json: { format: 'csv', mapping: { userId: 'id', traits: { plan: 'Plan', seats: 'Seats' } } },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const job = await json(created);
    expect(job).toMatchObject({ status: 'awaiting_upload', upload: { method: 'PUT' } });
    const put = await fetch(job.upload.url, {
      method: 'PUT',
      body: 'id,Plan,Seats\nimp-a,pro,20\nimp-b,team,lots\n',
    });
    expect(put.status).toBeLessThan(300);
    await e2e.stack.runSchedule('imports');
    const report = await json(await e2e.call(`/api/imports/${job.importId}`, { headers: admin() }));
    expect(report).toMatchObject({
      status: 'completed',
      rows: 2,
      applied: 1,
      rejected: 1,
      rejections: [{ line: 3, reasons: ['traits.seats: Expected a finite number'] }],
    });
    await eventually(async () => expect((await profile('imp-a')).traits).toEqual({ plan: 'pro', seats: 20 }));
    const undeclared = await e2e.call('/api/imports', {
      method: 'POST',
      headers: admin(),
      json: { format: 'ndjson', mapping: { userId: 'id', traits: { shoeSize: 'size' } } },
    });
    expect((await json(undeclared)).errors).toEqual([
      { path: 'mapping.traits.shoeSize', message: expect.any(String) },
    ]);
  });

  it('imports manual tags from a column: seen on the person and in the segment listing', async () => {
    const created = await e2e.call('/api/imports', {
      method: 'POST',
      headers: admin(),
      json: { format: 'csv', mapping: { userId: 'id', traits: { plan: 'Plan' }, tags: { add: 'Tags' } } },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const job = await json(created);
    const put = await fetch(job.upload.url, {
      method: 'PUT',
      body: 'id,Plan,Tags\nimp-t1,pro,"imported_vip;newsletter"\nimp-t2,,imported_vip\nimp-t3,team,Not A Tag\n',
    });
    expect(put.status).toBeLessThan(300);
    await e2e.stack.runSchedule('imports');
    const report = await json(await e2e.call(`/api/imports/${job.importId}`, { headers: admin() }));
    expect(report).toMatchObject({
      status: 'completed',
      rows: 3,
      applied: 2,
      rejected: 1,
      rejections: [{ line: 4, reasons: ['Tags: tag 1: Expected 1..64 characters of a-z, 0-9, _, : and -'] }],
    });
    expect((await profile('imp-t1')).tags).toEqual([
      { tag: 'imported_vip', source: 'manual', setAt: expect.any(String) },
      { tag: 'newsletter', source: 'manual', setAt: expect.any(String) },
    ]);
    const segments = await json(await e2e.call('/api/segments', { headers: analyst() }));
    expect(segments.items).toContainEqual({ tag: 'imported_vip', size: 2 });
    const members = await json(await e2e.call('/api/segments/imported_vip/users', { headers: analyst() }));
    expect(members.items.map((m: { userId: string }) => m.userId).sort()).toEqual(['imp-t1', 'imp-t2']);
    // An admin removes one by hand: the same tag, the same path.
    const removed = await e2e.call('/api/users/imp-t2/tags/imported_vip', {
      method: 'DELETE',
      headers: admin(),
    });
    expect(removed.status).toBe(200);
    const after = await json(await e2e.call('/api/segments', { headers: analyst() }));
    expect(after.items).toContainEqual({ tag: 'imported_vip', size: 1 });
  });

  it('configures a HubSpot connector and shows its status', async () => {
    const res = await e2e.call('/api/connectors/hubspot-main', {
      method: 'PUT',
      headers: admin(),
      json: {
        kind: 'hubspot',
        properties: { plan_tier: 'plan' },
        match: { by: 'hashedTrait', property: 'email', trait: 'email' },
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const bad = await e2e.call('/api/connectors/hubspot-bad', {
      method: 'PUT',
      headers: admin(),
      json: {
        kind: 'hubspot',
        properties: { x: 'nope' },
        match: { by: 'hashedTrait', property: 'email', trait: 'plan' },
      },
    });
    expect((await json(bad)).errors.map((e: { path: string }) => e.path)).toEqual([
      'properties.x',
      'match.trait',
    ]);
    // No token in the local CRM secret file yet: the run says so, with no value in it.
    await e2e.stack.runSchedule('crm-sync');
    const status = await json(await e2e.call('/api/connectors/hubspot-main/status', { headers: admin() }));
    expect(status).toMatchObject({
      connector: { everyMinutes: 15, enabled: true },
      lastRun: { status: 'failed', error: expect.stringContaining('No token') },
    });
  });
});

describe('privacy', () => {
  it('exports the traits with the person, and erasure removes them', async () => {
    const exported = await json(await e2e.call('/api/users/tess/export', { headers: admin() }));
    expect(JSON.stringify(exported.stores.profile)).toContain('"plan"');
    expect((await e2e.call('/api/users/tess', { method: 'DELETE', headers: admin() })).status).toBe(200);
    expect((await e2e.call('/api/users/tess', { headers: analyst() })).status).toBe(404);
  });
});
