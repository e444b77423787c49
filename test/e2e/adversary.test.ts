/**
 * What a holder of a public (client) write key can do, tried over HTTP against the local stack:
 * the attacks a red-team pass found with only a public key and the documented API. Each must
 * fail; the honest flows beside them must keep working. The customer's backend, which knows who
 * is signed in, is played by the e2e server source and by the client source's identity secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueConsentToken } from '../../functions/core/consent';
import { userHash } from '../../functions/core/identity-verification';
import { ENV } from '../../lib/config';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
/** The app's public key, and the identity secret its backend signs user ids with. */
let publicKey: string;
let identitySecret: string;

beforeAll(async () => {
  e2e = await startE2E();
  const created = await e2e.call('/api/sources', {
    method: 'POST',
    headers: { authorization: `Bearer ${e2e.admin}` },
    json: { name: 'mobile app', channel: 'ios', kind: 'client' },
  });
  expect(created.status).toBe(201);
  const source = await json(created);
  publicKey = source.writeKey;
  identitySecret = source.identitySecret;
  expect(publicKey).toMatch(/^pk_/);
  expect(identitySecret).toMatch(/^ivs_/);
});
afterAll(async () => {
  await e2e?.close();
});

const asAnalyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const asAdmin = () => ({ authorization: `Bearer ${e2e.admin}` });
/** The proof a signed-in user's app gets from its backend. */
const proofFor = (userId: string) => ({ 'x-user-hash': userHash(identitySecret, userId) });

/** Consent with the public key: an anonymous device, or a user id with its proof. */
const consentWithPublicKey = async (
  subject: string,
  as: { anonymous: true; token?: string } | { proof: Record<string, string> },
  purposes: Record<string, boolean> = { analytics: true, personalization: true },
) =>
  e2e.call(`/api/users/${encodeURIComponent(subject)}/consent`, {
    method: 'PUT',
    headers: {
      'x-api-key': publicKey,
      ...('proof' in as ? as.proof : as.token ? { 'x-consent-token': as.token } : {}),
    },
    json: { purposes, policyVersion: 'v1', ...('anonymous' in as && { anonymous: true }) },
  });
const tokenOf = async (res: Response) => {
  expect(res.status).toBe(200);
  return (await json(res)).consentToken as string;
};

const send = (event: Record<string, unknown>, token: string, key = publicKey) =>
  e2e.call(`/api/engagement/${event.type}`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'x-consent-token': token },
    json: { ...event, type: undefined },
  });
const identify = (body: Record<string, unknown>, headers: Record<string, string>) =>
  e2e.call('/api/identify', { method: 'POST', headers: { 'x-api-key': publicKey, ...headers }, json: body });
const profile = async (id: string) => {
  const res = await e2e.call(`/api/users/${encodeURIComponent(id)}`, { headers: asAnalyst() });
  return res.status === 404 ? undefined : await json(res);
};

describe('a public key cannot hijack another person', () => {
  it("does not move a victim's history into an attacker's profile", async () => {
    // The victim's device consents and converts (99 EUR).
    const victimToken = await tokenOf(await consentWithPublicKey('victim-anon', { anonymous: true }));
    const conversion = validEvent('conversion', {
      userId: undefined,
      anonymousId: 'victim-anon',
      campaignId: 'hijack',
      value: 99,
      currency: 'EUR',
    });
    expect((await send(conversion, victimToken)).status).toBe(202);
    await eventually(async () => expect((await profile('victim-anon'))?.conversions.count).toBe(1));

    // The attacker is a real user of the app, with its own proof and token.
    const attackerToken = await tokenOf(
      await consentWithPublicKey('attacker-user', { proof: proofFor('attacker-user') }),
    );
    // 1. A token for the user side alone links nothing: the link moves the device's history.
    const withOwnToken = await identify(
      { anonymousId: 'victim-anon', userId: 'attacker-user' },
      { 'x-consent-token': attackerToken, ...proofFor('attacker-user') },
    );
    expect(withOwnToken.status).toBe(403);
    // 2. Nor can it take over the device's consent to mint a token for it: the id has consent
    // on record, and changing it needs a token issued to that device.
    const takeover = await consentWithPublicKey('victim-anon', { anonymous: true });
    expect(takeover.status).toBe(403);
    expect((await json(takeover)).errors).toEqual([
      { path: 'consentToken', message: 'A consent token for this anonymous id is required' },
    ]);
    // 3. Calling the attacker's user id anonymous does not get around the proof either.
    expect((await consentWithPublicKey('attacker-user', { anonymous: true })).status).toBe(403);

    // The victim's own login still links (their token, their proof).
    const linked = await identify(
      { anonymousId: 'victim-anon', userId: 'victim-user' },
      { 'x-consent-token': victimToken, ...proofFor('victim-user') },
    );
    expect(linked.status).toBe(202);
    await eventually(async () => {
      const victim = await profile('victim-user');
      expect(victim?.conversions).toEqual({ count: 1, value: { EUR: 99 } });
    });
    expect((await profile('attacker-user'))?.conversions?.count ?? 0).toBe(0);
  });

  it('refuses to act for a user id without its proof: consent, identify, promotion', async () => {
    const noProof = await consentWithPublicKey('someone-else', { proof: {} });
    expect(noProof.status).toBe(403);
    expect((await json(noProof)).errors[0].path).toBe('userHash');
    const wrongProof = await consentWithPublicKey('someone-else', { proof: proofFor('attacker-user') });
    expect(wrongProof.status).toBe(403);
    const promo = await e2e.call('/api/promotion?userId=someone-else&placement=anything', {
      headers: { 'x-api-key': publicKey },
    });
    expect(promo.status).toBe(403);
  });
});

describe('erasure reaches exactly the person an id belongs to', () => {
  it('cannot be aimed at a victim through a link the attacker made', async () => {
    const victimToken = await e2e.consent('erase-victim');
    expect(
      (await send(validEvent('click', { userId: 'erase-victim' }), victimToken, e2e.writeKey)).status,
    ).toBe(202);
    await eventually(async () => expect((await profile('erase-victim'))?.counts.click).toBe(1));
    // The attacker's own device tries to link itself to the victim's user id: no proof, no link.
    const attackerAnon = await tokenOf(await consentWithPublicKey('attacker-anon', { anonymous: true }));
    const link = await identify(
      { anonymousId: 'attacker-anon', userId: 'erase-victim' },
      { 'x-consent-token': attackerAnon },
    );
    expect(link.status).toBe(403);
    // An admin erasing the attacker's anonymous id erases that id only.
    const erased = await e2e.call('/api/users/attacker-anon', { method: 'DELETE', headers: asAdmin() });
    expect(erased.status).toBe(200);
    expect((await json(erased)).ids).toBe(1);
    expect((await profile('erase-victim'))?.counts.click).toBe(1);
  });

  it('ends suppression when the erased person consents again', async () => {
    const first = await e2e.consent('comeback');
    expect(
      (await send(validEvent('click', { userId: 'comeback', campaignId: 'back' }), first, e2e.writeKey))
        .status,
    ).toBe(202);
    await eventually(async () => expect((await profile('comeback'))?.counts.click).toBe(1));
    expect((await e2e.call('/api/users/comeback', { method: 'DELETE', headers: asAdmin() })).status).toBe(
      200,
    );
    expect(await profile('comeback')).toBeUndefined();
    // Later, the same person signs up again and consents: what they send now counts.
    const again = await e2e.consent('comeback');
    expect(
      (await send(validEvent('view', { userId: 'comeback', campaignId: 'back' }), again, e2e.writeKey))
        .status,
    ).toBe(202);
    await eventually(async () => expect((await profile('comeback'))?.counts).toEqual({ view: 1 }));
  });
});

describe('consent follows the person, not the ids on the event', () => {
  it('drops events of a device linked to a user who withdrew', async () => {
    const deviceToken = await tokenOf(await consentWithPublicKey('wd-anon', { anonymous: true }));
    expect(
      (
        await identify(
          { anonymousId: 'wd-anon', userId: 'wd-user' },
          { 'x-consent-token': deviceToken, ...proofFor('wd-user') },
        )
      ).status,
    ).toBe(202);
    await e2e.consent('wd-user');
    const counted = validEvent('click', { userId: 'wd-user', campaignId: 'withdrawn' });
    expect((await send(counted, await e2e.consent('wd-user'), e2e.writeKey)).status).toBe(202);
    await eventually(async () => expect((await profile('wd-user'))?.counts.click).toBe(1));
    // The user withdraws analytics; the device keeps sending with its own (older) token.
    await e2e.consent('wd-user', { analytics: false });
    const fromDevice = validEvent('click', {
      userId: undefined,
      anonymousId: 'wd-anon',
      campaignId: 'withdrawn',
    });
    expect((await send(fromDevice, deviceToken)).status).toBe(202);
    // A marker event after it: once it is counted, the device's event has been judged.
    const marker = validEvent('view', { userId: 'wd-marker', campaignId: 'withdrawn-marker' });
    expect((await send(marker, await e2e.consent('wd-marker'), e2e.writeKey)).status).toBe(202);
    await e2e.drained();
    await eventually(async () => expect((await profile('wd-marker'))?.counts.view).toBe(1));
    expect((await profile('wd-user'))?.counts.click).toBe(1);
  });

  it("never counts on a user who did not consent with another, unlinked id's token", async () => {
    const deviceToken = await tokenOf(await consentWithPublicKey('stranger-anon', { anonymous: true }));
    const onAnother = validEvent('click', {
      userId: 'never-consented',
      anonymousId: 'stranger-anon',
      campaignId: 'not-theirs',
    });
    // The door takes it (the token names one of its ids) ...
    expect((await send(onAnother, deviceToken)).status).toBe(202);
    await e2e.drained();
    // ... and the consumer, judging the person it would count on, does not.
    expect(await profile('never-consented')).toBeUndefined();
  });
});

describe('the promotion answers only for the person its token is for', () => {
  beforeAll(async () => {
    const put = await e2e.call('/api/experiments/vip-offer', {
      method: 'PUT',
      headers: asAdmin(),
      json: {
        placement: 'vip_banner',
        status: 'running',
        goal: { type: 'conversion' },
        targeting: { tagsAny: ['vip'] },
        variants: [
          { id: 'control', weight: 1, content: { headline: 'Hello' } },
          { id: 'secret-vip-deal', weight: 1, content: { headline: 'VIP: 50% off' } },
        ],
      },
    });
    expect(put.status).toBe(201);
    const tag = await e2e.call('/api/users/vip-user/tags', {
      method: 'PUT',
      headers: asAdmin(),
      json: { tags: ['vip'] },
    });
    // The profile must exist for tags: the vip has consented and sent an event.
    if (tag.status === 404) {
      const token = await e2e.consent('vip-user');
      await send(validEvent('view', { userId: 'vip-user' }), token, e2e.writeKey);
      await eventually(async () => expect((await profile('vip-user'))?.counts.view).toBe(1));
      expect(
        (
          await e2e.call('/api/users/vip-user/tags', {
            method: 'PUT',
            headers: asAdmin(),
            json: { tags: ['vip'] },
          })
        ).status,
      ).toBe(200);
    }
  });
  const promotion = (query: string, headers: Record<string, string>) =>
    e2e.call(`/api/promotion?${query}`, { headers: { 'x-api-key': publicKey, ...headers } });

  it('is no oracle of another person', async () => {
    const attackerToken = await tokenOf(
      await consentWithPublicKey('promo-attacker', { proof: proofFor('promo-attacker') }),
    );
    // Another user id with the attacker's own proof: refused before anything is read.
    const other = await promotion('userId=vip-user&placement=vip_banner', {
      'x-consent-token': attackerToken,
      ...proofFor('promo-attacker'),
    });
    expect(other.status).toBe(403);
    // With a proof for the victim (a stolen hash) but the attacker's token: not personalised,
    // nothing assigned or exposed on the victim.
    const stolenHash = await promotion('userId=vip-user&placement=vip_banner', {
      'x-consent-token': attackerToken,
      ...proofFor('vip-user'),
    });
    expect(await json(stolenHash)).toMatchObject({ variant: 'control', personalized: false });
    // For itself: the attacker is no vip, so no content for vips at all.
    const own = await promotion('userId=promo-attacker&placement=vip_banner', {
      'x-consent-token': attackerToken,
      ...proofFor('promo-attacker'),
    });
    expect(own.status).toBe(204);
  });

  it('forces a variant for admins only, and names no variant in its errors', async () => {
    const anonToken = await tokenOf(await consentWithPublicKey('qa-anon', { anonymous: true }));
    const forced = await promotion('anonymousId=qa-anon&placement=vip_banner&variant=secret-vip-deal', {
      'x-consent-token': anonToken,
    });
    expect(forced.status).toBe(403);
    const body = JSON.stringify(await json(forced));
    expect(body).not.toContain('secret-vip-deal');
    expect(body).not.toContain('control');
    const unknown = await promotion('anonymousId=qa-anon&placement=vip_banner&variant=guess', {
      'x-consent-token': anonToken,
      ...asAdmin(),
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await json(unknown))).not.toContain('secret-vip-deal');
  });

  it('reads stored consent: a withdrawal of personalisation wins over an older token', async () => {
    const token = await e2e.consent('vip-user');
    const before = await promotion('userId=vip-user&placement=vip_banner', {
      'x-consent-token': token,
      ...proofFor('vip-user'),
    });
    expect((await json(before)).personalized).toBe(true);
    await e2e.consent('vip-user', { analytics: true, personalization: false });
    const after = await promotion('userId=vip-user&placement=vip_banner', {
      'x-consent-token': token,
      ...proofFor('vip-user'),
    });
    expect(await json(after)).toMatchObject({ variant: 'control', personalized: false });
  });
});

describe('expiry is judged against the time Pulse trusts', () => {
  it('does not revive an expired token by back-dating events', async () => {
    const key = Buffer.from(e2e.stack.env[ENV.localSigningKey] as string, 'base64url');
    const day = 86_400_000;
    // A token issued 40 days ago for 30 days: it expired 10 days ago.
    const expired = issueConsentToken(
      key,
      'backdater',
      ['analytics'],
      new Date(Date.now() - 40 * day),
      30,
    ).token;
    const res = await send(
      validEvent('click', { userId: 'backdater', timestamp: new Date(Date.now() - 11 * day).toISOString() }),
      expired,
      e2e.writeKey,
    );
    expect(res.status).toBe(403);
    expect((await json(res)).code).toBe('consent_invalid');
  });
});
