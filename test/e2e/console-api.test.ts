/**
 * The API the console needs (issue 18), over HTTP against the local stack: experiments listed,
 * their status changed alone, drafts deleted; a rule deleted with its tag; Swagger UI at
 * /api/docs from the package; the console served at /console with a loopback-only sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  // The console is served as built (no Vite build here: the browser tests build it).
  e2e = await startE2E();
});
afterAll(() => e2e?.close());

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const definition = (placement: string, status: string) => ({
  placement,
  status,
  variants: [
    { id: 'A', weight: 1, content: { headline: 'one' } },
    { id: 'B', weight: 1, content: { headline: 'two' } },
  ],
  goal: { type: 'conversion' },
});
const put = (id: string, body: unknown) =>
  e2e.call(`/api/experiments/${id}`, { method: 'PUT', headers: admin(), json: body });
const patch = (id: string, body: unknown, headers = admin()) =>
  e2e.call(`/api/experiments/${id}`, { method: 'PATCH', headers, json: body });

describe('experiments for the console', () => {
  it('lists them newest change first, filtered by status and placement', async () => {
    expect((await put('x-draft', definition('p-list', 'draft'))).status).toBe(201);
    expect((await put('x-run', definition('p-list', 'running'))).status).toBe(201);
    expect((await put('x-other', definition('p-elsewhere', 'running'))).status).toBe(201);
    const all = await json(await e2e.call('/api/experiments', { headers: analyst() }));
    expect(all.items.map((x: { experimentId: string }) => x.experimentId).slice(0, 3)).toEqual([
      'x-other',
      'x-run',
      'x-draft',
    ]);
    const running = await json(
      await e2e.call('/api/experiments?status=running&placement=p-list', { headers: analyst() }),
    );
    expect(running.items.map((x: { experimentId: string }) => x.experimentId)).toEqual(['x-run']);
    const bad = await e2e.call('/api/experiments?status=paused', { headers: analyst() });
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors[0].path).toBe('status');
  });

  it('changes the status alone, under the same rules as a PUT, and refuses analysts', async () => {
    expect((await put('x-patch', definition('p-patch', 'draft'))).status).toBe(201);
    expect((await patch('x-patch', { status: 'running' }, analyst())).status).toBe(403);
    const started = await patch('x-patch', { status: 'running' });
    expect(started.status).toBe(200);
    const body = await json(started);
    expect(body).toMatchObject({
      status: 'running',
      version: 2,
      variants: definition('p-patch', 'draft').variants,
    });
    expect(body.startedAt).toEqual(expect.any(String));
    // A second experiment cannot run on the placement; a started one cannot go back to draft.
    expect((await put('x-patch-2', definition('p-patch', 'draft'))).status).toBe(201);
    const clash = await patch('x-patch-2', { status: 'running' });
    expect(clash.status).toBe(409);
    expect((await patch('x-patch', { status: 'draft' })).status).toBe(409);
    const stopped = await json(await patch('x-patch', { status: 'stopped' }));
    expect(stopped).toMatchObject({
      status: 'stopped',
      stoppedAt: expect.any(String),
      startedAt: body.startedAt,
    });
    // Only the status: anything else in the body is a 400 naming it.
    const extra = await patch('x-patch', { status: 'running', coverage: 0.5 });
    expect(extra.status).toBe(400);
    expect((await patch('nope', { status: 'stopped' })).status).toBe(404);
  });

  it('deletes a draft that never ran, and nothing that ran', async () => {
    expect((await put('x-del', definition('p-del', 'draft'))).status).toBe(201);
    expect((await e2e.call('/api/experiments/x-del', { method: 'DELETE', headers: analyst() })).status).toBe(
      403,
    );
    expect((await e2e.call('/api/experiments/x-del', { method: 'DELETE', headers: admin() })).status).toBe(
      204,
    );
    expect((await e2e.call('/api/experiments/x-del', { headers: analyst() })).status).toBe(404);
    expect((await put('x-ran', definition('p-ran', 'running'))).status).toBe(201);
    await patch('x-ran', { status: 'stopped' });
    const refused = await e2e.call('/api/experiments/x-ran', { method: 'DELETE', headers: admin() });
    expect(refused.status).toBe(409);
    expect((await e2e.call('/api/experiments/x-ran', { headers: analyst() })).status).toBe(200);
  });
});

describe('deleting a segment rule', () => {
  it('removes the tag it gave, keeps the same tag given by hand, then the rule', async () => {
    const rule = await e2e.call('/api/segments/rules/clickers', {
      method: 'PUT',
      headers: admin(),
      json: { tag: 'clicker', when: { type: 'click', atLeast: 1 } },
    });
    expect(rule.status).toBe(201);
    const people = ['r-1', 'r-2', 'r-3'];
    const events = await Promise.all(
      people.map(async (id) => validEvent('click', { userId: id, consentToken: await e2e.consent(id) })),
    );
    expect(
      (
        await e2e.call('/api/engagement/events', {
          method: 'POST',
          headers: { 'x-api-key': e2e.writeKey },
          json: { events },
        })
      ).status,
    ).toBe(202);
    await eventually(async () => {
      const members = await json(await e2e.call('/api/segments/clicker/users', { headers: analyst() }));
      expect(members.items).toHaveLength(3);
    });
    // r-1 also carries the tag by hand: that stays.
    expect(
      (
        await e2e.call('/api/users/r-1/tags', {
          method: 'POST',
          headers: admin(),
          json: { tags: ['clicker'] },
        })
      ).status,
    ).toBe(200);
    expect(
      (await e2e.call('/api/segments/rules/clickers', { method: 'DELETE', headers: analyst() })).status,
    ).toBe(403);
    const deleted = await e2e.call('/api/segments/rules/clickers', { method: 'DELETE', headers: admin() });
    expect(deleted.status).toBe(200);
    expect(await json(deleted)).toEqual({
      ruleId: 'clickers',
      tag: 'clicker',
      removedFrom: 3,
      complete: true,
    });
    const members = await json(await e2e.call('/api/segments/clicker/users', { headers: analyst() }));
    expect(members.items).toEqual([{ userId: 'r-1', sources: ['manual'] }]);
    const rules = await json(await e2e.call('/api/segments/rules', { headers: analyst() }));
    expect(rules.items.map((r: { ruleId: string }) => r.ruleId)).not.toContain('clickers');
    expect(
      (await e2e.call('/api/segments/rules/clickers', { method: 'DELETE', headers: admin() })).status,
    ).toBe(404);
  });
});

describe('/api/docs', () => {
  it('serves Swagger UI from the package, with a policy that runs only its own files', async () => {
    const page = await e2e.call('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    const html = await page.text();
    expect(html).toContain('docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await e2e.call('/api/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    expect((await bundle.text()).length).toBeGreaterThan(500_000);
    expect((await e2e.call('/api/docs/init.js')).status).toBe(200);
    expect((await e2e.call('/api/docs/swagger-ui.css')).headers.get('content-type')).toContain('text/css');
    expect((await e2e.call('/api/docs/..%2Fpackage.json')).status).toBe(404);
    expect((await e2e.call('/api/docs/index.html')).status).toBe(404);
  });
});
