import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient } from '../../lib/local/emulators';
import { mintToken } from '../../lib/local/keys';
import { type TableName, tableList } from '../../lib/tables';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

// The stack starts without its consumer: the test starts it when events should be "in flight".
let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [] });
});
afterAll(async () => {
  await e2e?.close();
});

const track = (userId: string, token: string | undefined, overrides: Record<string, unknown> = {}) =>
  e2e.call('/api/engagement/click', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, ...(token ? { 'x-consent-token': token } : {}) },
    json: { ...validEvent('click', { userId, campaignId: `camp-${userId}`, ...overrides }), type: undefined },
  });
const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const clicks = async (campaignId: string) => {
  const res = await e2e.call(`/api/metrics/campaigns/${campaignId}`, { headers: analyst() });
  return res.status === 404 ? 0 : (await json(res)).totals.click;
};

/** Every item of every table, and every failure file, as text: where an id in clear would show. */
const everything = async () => {
  const db = dynamoClient(e2e.stack.endpoints.dynamodb, 'us-east-1');
  const texts: string[] = [];
  for (const t of tableList) {
    const { Items = [] } = await db.send(
      new ScanCommand({ TableName: e2e.stack.names.tables[t.name as TableName] }),
    );
    texts.push(
      ...Items.map((i) =>
        JSON.stringify(unmarshall(i), (_k, v) => (v instanceof Uint8Array ? '<bytes>' : v)),
      ),
    );
  }
  return texts.join('\n');
};

describe('consent, withdrawal, erasure and export', () => {
  it('refuses events without consent, or with a token that does not cover them', async () => {
    const none = await track('nina', undefined);
    expect(none.status).toBe(403);
    expect(await json(none)).toMatchObject({ code: 'consent_required', errors: [{ path: 'consentToken' }] });

    const otherUser = await e2e.consent('someone-else');
    const noAnalytics = await e2e.consent('nina', { analytics: false, marketing: true });
    const forged = `${otherUser.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    for (const token of [otherUser, noAnalytics, forged, 'garbage', `${otherUser}x`]) {
      const res = await track('nina', token);
      expect([token.slice(0, 12), res.status]).toEqual([token.slice(0, 12), 403]);
      expect((await json(res)).code).toBe('consent_invalid');
    }
    // A token for the anonymous id covers the event after login too.
    const anonToken = await e2e.consent('anon-nina');
    expect((await track('nina', anonToken, { anonymousId: 'anon-nina' })).status).toBe(202);
    // Expired at the event's time: the event happened after the token's expiry.
    const res = await e2e.call('/api/users/nina/consent', {
      method: 'PUT',
      headers: { 'x-api-key': e2e.writeKey },
      json: { purposes: { analytics: true, telepathy: true }, policyVersion: '1' },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).errors[0].path).toBe('purposes');
  });

  it('stops counting at once on withdrawal, also events already in flight', async () => {
    const token = await e2e.consent('walt');
    for (let i = 0; i < 3; i++) expect((await track('walt', token)).status).toBe(202);
    // Withdrawn while those three are still in the stream, unprocessed.
    await e2e.consent('walt', { analytics: false });
    expect((await track('walt', token)).status).toBe(202); // the token alone still passes ingest
    await e2e.drained();
    expect(await clicks('camp-walt')).toBe(0);

    // Consent again: counted again.
    const again = await e2e.consent('walt');
    expect((await track('walt', again)).status).toBe(202);
    await e2e.drained();
    expect(await clicks('camp-walt')).toBe(1);

    const state = await json(await e2e.call('/api/users/walt/consent', { headers: analyst() }));
    expect(state.current.purposes).toEqual({ analytics: true, personalization: true });
    expect(state.history.map((h: { purposes: { analytics: boolean } }) => h.purposes.analytics)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('exports everything about a person, then erases it from every store and drops later events', async () => {
    const token = await e2e.consent('erin');
    const anonToken = await e2e.consent('anon-erin');
    expect((await track('erin', token, { properties: { plan: 'gold' } })).status).toBe(202);
    expect((await track('erin', anonToken, { anonymousId: 'anon-erin', userId: undefined })).status).toBe(
      202,
    );
    // A poison record naming erin lands in the quarantine.
    await e2e.drained();
    await eventually(async () => expect(await clicks('camp-erin')).toBe(2));

    const exported = await json(await e2e.call('/api/users/erin/export', { headers: admin() }));
    expect(exported.stores.profile[0]).toMatchObject({ personKey: 'erin', counts: { click: 1 } });
    expect(exported.stores.consent[0].history).toHaveLength(1);

    const erased = await e2e.call('/api/users/erin', { method: 'DELETE', headers: admin() });
    expect(erased.status).toBe(200);
    expect((await json(erased)).deleted).toMatchObject({ profile: 1, consent: 2 });
    const erasedAnon = await e2e.call('/api/users/anon-erin', { method: 'DELETE', headers: admin() });
    expect(erasedAnon.status).toBe(200);

    // Later events with a still-valid token: accepted at the door, dropped by the consumer.
    expect((await track('erin', token)).status).toBe(202);
    await e2e.drained();
    const all = await everything();
    expect(all.split('\n').filter((line) => line.replaceAll('camp-erin', '').includes('erin'))).toEqual([]);
    expect(await clicks('camp-erin')).toBe(2); // anonymous aggregates stay

    const again = await e2e.call('/api/users/erin', { method: 'DELETE', headers: admin() });
    expect(again.status).toBe(200);
    expect(Object.values((await json(again)).deleted).every((n) => n === 0)).toBe(true);
    expect((await e2e.call('/api/users/nobody-ever', { method: 'DELETE', headers: admin() })).status).toBe(
      404,
    );
    expect((await e2e.call('/api/users/erin/export', { headers: admin() })).status).toBe(404);
  });

  it('refuses the wrong credentials on privacy routes', async () => {
    const analystErase = await e2e.call('/api/users/walt', { method: 'DELETE', headers: analyst() });
    expect(analystErase.status).toBe(403);
    const keyOnAnalyst = await e2e.call('/api/users/walt/consent', {
      headers: { 'x-api-key': e2e.writeKey },
    });
    expect(keyOnAnalyst.status).toBe(401);
    const [header, payload] = e2e.admin.split('.');
    const algNone = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    // Signed by the right key but for another user pool: the issuer check refuses it.
    const otherPool = await mintToken(e2e.stack.keys, { role: 'admin', userPoolId: 'us-east-1_SomeoneElse' });
    // Signed by another key under our key id.
    const { generateKeyPair, exportJWK } = await import('jose');
    const stranger = {
      ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)),
      kid: e2e.stack.keys.privateJwk.kid,
      alg: 'RS256',
    };
    const otherKey = await mintToken({ ...e2e.stack.keys, privateJwk: stranger }, { role: 'admin' });
    for (const token of [algNone, otherPool, otherKey, `${header}.${payload}.c2lnbmF0dXJl`]) {
      const res = await e2e.call('/api/users/walt', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(401);
    }
  });
});
