/**
 * Issue #16's journey over HTTP against the local stack, end to end: a declared trait set by
 * identify, a segment rule on it, a promotion targeted at the rule's tag, and the segment synced
 * back out as an audience to a webhook receiver (Standard Webhooks signatures verified, ids hashed)
 * as the person joins and leaves it — only for people who consented to marketing — then erasure.
 * The same audience reaches a fake HubSpot as a contact property Pulse created itself on saving
 * the destination (refused, by path, when the token lacks the scope).
 * The stream consumers run as in `npm start`; the schedules are driven by hand.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { type FakeHubspot, startFakeHubspot } from '../support/fake-vendors/hubspot';
import { type FakeWebhook, startFakeWebhook } from '../support/fake-vendors/webhook';

let e2e: E2E;
let receiver: FakeWebhook;
let hub: FakeHubspot;
let secret: string | undefined;
beforeAll(async () => {
  e2e = await startE2E({ schedules: false, env: { [ENV.experimentCacheMs]: '0' } });
  receiver = await startFakeWebhook(() => secret);
  hub = await startFakeHubspot('hub-token');
});
afterAll(async () => {
  await e2e?.close();
  await receiver?.close();
  await hub?.close();
});

// An e-mail-shaped user id, as CRMs key people: hashed trimmed and lower-cased.
const ADA = 'Ada.Lovelace@Example.com';
const BEA = 'bea@example.com';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const user = (id: string) => `/api/users/${encodeURIComponent(id)}`;
const profile = (id: string) => e2e.call(user(id), { headers: analyst() });
const tagsOf = async (id: string): Promise<string[]> =>
  (await json(await profile(id))).tags.map((t: { tag: string }) => t.tag);
const redrive = (time?: Date) => e2e.stack.runSchedule('destinations-redrive', time ? { time } : {});
const status = async () =>
  json(await e2e.call('/api/destinations/crm-audience/status', { headers: admin() }));
const hubspotDestination = () => ({
  type: 'hubspot',
  enabled: true,
  settings: { mode: 'properties', baseUrl: hub.url },
  credentials: { accessToken: 'hub-token' },
  audiences: ['pro_plan'],
  consentPurpose: 'marketing',
});
const putHubspot = (over: object = {}) =>
  e2e.call('/api/destinations/crm-hubspot', {
    method: 'PUT',
    headers: admin(),
    json: { ...hubspotDestination(), ...over },
  });
const segmentMessages = (personKey: string) =>
  receiver.messages.filter((m) => m.personKey === personKey && m.kind.startsWith('segment.'));
const identify = async (userId: string, plan: string, purposes: Record<string, boolean>) => {
  const res = await e2e.call('/api/identify', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(userId, purposes) },
    json: { userId, traits: { plan } },
  });
  expect(res.status, await res.clone().text()).toBe(202);
};
const MARKETING = { analytics: true, personalization: true, marketing: true };
const NO_MARKETING = { analytics: true, personalization: true, marketing: false };

describe('a CRM trait, out again as an audience', () => {
  it('declares the trait, the rule on it, a promotion for its tag, and the audience destination', async () => {
    const trait = await e2e.call('/api/traits/plan', {
      method: 'PUT',
      headers: admin(),
      json: { type: 'string', purpose: 'personalization', description: 'Billing plan, from the CRM' },
    });
    expect(trait.status, await trait.clone().text()).toBe(201);
    const rule = await e2e.call('/api/segments/rules/pro-plan', {
      method: 'PUT',
      headers: admin(),
      json: { tag: 'pro_plan', when: { trait: 'plan', equals: 'pro' } },
    });
    expect(rule.status, await rule.clone().text()).toBe(201);
    const experiment = await e2e.call('/api/experiments/exp-pro-upsell', {
      method: 'PUT',
      headers: admin(),
      json: {
        placement: 'pro-upsell',
        status: 'running',
        variants: [
          { id: 'A', weight: 50, content: { headline: 'Pro, now with seats' } },
          { id: 'B', weight: 50, content: { headline: 'Bring your team to Pro' } },
        ],
        targeting: { tagsAny: ['pro_plan'] },
        goal: { type: 'conversion' },
      },
    });
    expect(experiment.status, await experiment.clone().text()).toBe(201);

    const destination = {
      type: 'webhook',
      enabled: true,
      settings: { url: `${receiver.url}/audiences` },
      audiences: ['pro_plan'],
    };
    // An audience acts on people: anything short of the marketing purpose is refused, by path.
    const refused = await e2e.call('/api/destinations/crm-audience', {
      method: 'PUT',
      headers: admin(),
      json: { ...destination, consentPurpose: 'analytics' },
    });
    expect(refused.status).toBe(400);
    expect((await json(refused)).errors).toEqual([expect.objectContaining({ path: 'consentPurpose' })]);
    const created = await e2e.call('/api/destinations/crm-audience', {
      method: 'PUT',
      headers: admin(),
      json: { ...destination, consentPurpose: 'marketing' },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    secret = (await json(created)).signingSecret;
  });

  it('a HubSpot audience destination creates its contact properties, or is refused naming the token', async () => {
    // A private app without the schema scope: the PUT fails by path, and nothing is saved.
    hub.scopes.delete('crm.schemas.contacts.write');
    const refused = await putHubspot();
    expect(refused.status).toBe(400);
    expect((await json(refused)).errors).toEqual([
      expect.objectContaining({
        path: 'credentials.accessToken',
        message: expect.stringContaining('crm.schemas.contacts.write'),
      }),
    ]);
    expect((await e2e.call('/api/destinations/crm-hubspot', { headers: admin() })).status).toBe(404);
    expect(hub.properties.has('pulse_segment_pro_plan')).toBe(false);

    hub.scopes.add('crm.schemas.contacts.write');
    const created = await putHubspot();
    expect(created.status, await created.clone().text()).toBe(201);
    expect((await json(created)).warnings).toBeUndefined();
    expect(hub.groups.has('pulse_audiences')).toBe(true);
    expect(hub.properties.get('pulse_segment_pro_plan')).toMatchObject({
      type: 'bool',
      fieldType: 'booleancheckbox',
    });
    // Saving again is idempotent: the properties exist, and that is success.
    const again = await putHubspot();
    expect(again.status, await again.clone().text()).toBe(200);
    expect((await json(again)).warnings).toBeUndefined();
  });

  it('identify with the trait tags the person, the promotion serves them, the audience receives them', async () => {
    await identify(ADA, 'pro', MARKETING);
    await eventually(async () => expect(await tagsOf(ADA)).toContain('pro_plan'));
    const promoted = await e2e.call(
      `/api/promotion?${new URLSearchParams({ userId: ADA, placement: 'pro-upsell' })}`,
      { headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': await e2e.consent(ADA, MARKETING) } },
    );
    expect(promoted.status, await promoted.clone().text()).toBe(200);
    expect((await json(promoted)).content.headline).toMatch(/Pro/);

    await eventually(async () => {
      await redrive();
      expect(segmentMessages(ADA).map((m) => [m.kind, m.segment])).toEqual([['segment.entered', 'pro_plan']]);
    });
    // Every request verified against the destination's secret by the standardwebhooks library.
    expect(receiver.unverified).toBe(0);
    await eventually(async () => {
      await redrive();
      expect(hub.contacts.get('ada.lovelace@example.com')).toMatchObject({ pulse_segment_pro_plan: 'true' });
    });
    const [entered] = segmentMessages(ADA);
    expect(entered?.hashedIds?.personKey).toBe(sha256('ada.lovelace@example.com'));
    expect(entered?.hashedIds?.personKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a trait that no longer matches takes the person out of the audience', async () => {
    await identify(ADA, 'free', MARKETING);
    await eventually(async () => expect(await tagsOf(ADA)).not.toContain('pro_plan'));
    await eventually(async () => {
      await redrive();
      expect(segmentMessages(ADA).map((m) => m.kind)).toEqual(['segment.entered', 'segment.left']);
      expect(hub.contacts.get('ada.lovelace@example.com')).toMatchObject({ pulse_segment_pro_plan: 'false' });
    });
    expect(segmentMessages(ADA)[1]?.hashedIds?.personKey).toBe(sha256('ada.lovelace@example.com'));
    // An audience destination syncs its segment, not the person's events (identify included).
    expect(receiver.messages.map((m) => m.kind).filter((k) => !k.startsWith('segment.'))).toEqual([]);
    expect(receiver.unverified).toBe(0);
  });

  it('a person without marketing consent joins the segment but never reaches the audience', async () => {
    const dropped = (await status()).consentDropped;
    await identify(BEA, 'pro', NO_MARKETING);
    await eventually(async () => expect(await tagsOf(BEA)).toContain('pro_plan'));
    // Judged at send time: the redrive drops her entry for want of marketing consent.
    await eventually(async () => {
      await redrive();
      expect((await status()).consentDropped).toBeGreaterThan(dropped);
    });
    expect(receiver.messages.filter((m) => JSON.stringify(m).includes(BEA))).toEqual([]);
    expect(receiver.messages.filter((m) => m.hashedIds?.personKey === sha256(BEA))).toEqual([]);
  });

  it('erasure removes the traits and tags, and drops what was still to be delivered', async () => {
    // Back to pro (a trait set back to an earlier value is a new update, not a repeat of the first),
    // while the receiver is down: her entry waits in the outbox.
    receiver.faults.push(...Array.from({ length: 50 }, () => ({ status: 503 })));
    const retrying = (await status()).retrying;
    await identify(ADA, 'pro', MARKETING);
    await eventually(async () => expect(await tagsOf(ADA)).toContain('pro_plan'));
    await eventually(async () => {
      await redrive();
      expect((await status()).retrying).toBeGreaterThan(retrying);
    });
    const before = receiver.messages.filter((m) => m.personKey === ADA).length;

    const erased = await e2e.call(user(ADA), { method: 'DELETE', headers: admin() });
    expect(erased.status, await erased.clone().text()).toBe(200);
    const erasedBody = await json(erased);
    expect(erasedBody.deleted.profile).toBe(1);
    expect(erasedBody.deleted.tags).toBeGreaterThanOrEqual(1);
    expect(erasedBody.deleted.outbox).toBeGreaterThanOrEqual(1);
    expect((await profile(ADA)).status).toBe(404);
    const members = await json(await e2e.call('/api/segments/pro_plan/users', { headers: analyst() }));
    expect(JSON.stringify(members)).not.toContain(ADA);
    expect((await status()).retrying).toBe(retrying);

    // Back up, hours later: the receiver is told to forget her (and does: the fake acts on
    // person.erased), and nothing about her arrives after that.
    receiver.faults.length = 0;
    expect(before).toBeGreaterThan(0);
    await redrive(new Date(Date.now() + 4 * 3_600_000));
    expect(receiver.erasures.filter((e) => e.personKey === ADA)).toHaveLength(1);
    expect(receiver.messages.filter((m) => m.personKey === ADA)).toEqual([]);
    expect(receiver.unverified).toBe(0);
  });

  it('an upsert naming a property the portal lost says so in the status, without the person', async () => {
    const CY = 'cy@example.com';
    hub.properties.delete('pulse_segment_pro_plan');
    const hubStatus = async () =>
      json(await e2e.call('/api/destinations/crm-hubspot/status', { headers: admin() }));
    await identify(CY, 'pro', MARKETING);
    await eventually(async () => {
      await redrive();
      const { lastErrors } = await hubStatus();
      expect(lastErrors.map((e: { error: string }) => e.error)).toContainEqual(
        expect.stringContaining(
          'PROPERTY_DOESNT_EXIST: HubSpot has no contact property pulse_segment_pro_plan',
        ),
      );
    });
    expect(JSON.stringify((await hubStatus()).lastErrors)).not.toContain('cy@');
    // HubSpot down while saving: saved all the same, with a warning saying what to do.
    hub.faults.push({ status: 503 });
    const down = await putHubspot();
    expect(down.status, await down.clone().text()).toBe(200);
    expect((await json(down)).warnings).toEqual([expect.stringContaining('503')]);
    expect(hub.properties.has('pulse_segment_pro_plan')).toBe(false);
    // Saving the destination again, unchanged (its stored token), creates it back.
    const repaired = await putHubspot({ credentials: undefined });
    expect(repaired.status, await repaired.clone().text()).toBe(200);
    expect((await json(repaired)).warnings).toBeUndefined();
    expect(hub.properties.has('pulse_segment_pro_plan')).toBe(true);
  });
});
