/**
 * Erasure forwarded to vendors: each deletion codec's requests as its vendor documents them
 * (batching limits, authentication, one identifier kind per Braze request), how answers read
 * (2xx done, 429/5xx retried with Retry-After, 4xx refused), and that status text never keeps an id.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { checkTypeFields, type DestinationBody } from '../../functions/core/destinations/definition';
import {
  allIds,
  BRAZE_DELETE_LIMIT,
  combineOutcomes,
  type ErasedPerson,
  erasedPerson,
  MIXPANEL_DELETE_LIMIT,
  mixpanelGdprBase,
  redactIds,
} from '../../functions/core/destinations/deletion';
import type { VendorAnswer } from '../../functions/core/destinations/delivery';
import { ERASURE_DETAIL_TYPE } from '../../functions/core/destinations/eventbridge';
import {
  accessToken,
  parseServiceAccount,
  type ServiceAccount,
} from '../../functions/core/destinations/google-oauth';
import { type HttpRequest, vendorFor, vendors } from '../../functions/core/destinations/vendors';
import { TEST_WEBHOOK_SECRET } from '../support/destinations';

const NOW = new Date('2026-11-30T10:00:00.000Z');
const SECRET = TEST_WEBHOOK_SECRET;
const person = (over: Partial<ErasedPerson> = {}): ErasedPerson => ({
  erasureId: '7d0c7c5e-1b3f-4e53-9a55-000000000001',
  at: NOW.toISOString(),
  personKey: 'maria@example.com',
  userIds: ['maria@example.com'],
  anonymousIds: ['anon-1', 'anon-2'],
  ...over,
});
const answer = (status: number, body = '', headers: Record<string, string> = {}): VendorAnswer => ({
  status,
  headers,
  body,
});
const deletionOf = (type: 'webhook' | 'braze' | 'hubspot' | 'mixpanel' | 'ga4') => {
  const d = vendorFor(type).deletion;
  if (!d) throw new Error(`${type} has no deletion`);
  return d;
};
const planned = (type: Parameters<typeof deletionOf>[0], settings: object, creds: object, p = person()) => {
  const plan = deletionOf(type).plan(
    settings as Record<string, unknown>,
    creds as Record<string, string>,
    p,
    NOW,
  );
  if ('skipped' in plan) throw new Error(`skipped: ${plan.skipped}`);
  return plan.requests as HttpRequest[];
};
const bodyOf = (r: { body: string }) => JSON.parse(r.body);

describe('which types forward erasure', () => {
  it('webhook, EventBridge, Braze, HubSpot, Mixpanel and GA4 (through a service account) have a deletion API', () => {
    const withDeletion = Object.entries(vendors)
      .filter(([, v]) => v?.deletion !== undefined)
      .map(([t]) => t)
      .sort();
    expect(withDeletion).toEqual(['braze', 'eventbridge', 'ga4', 'hubspot', 'mixpanel', 'webhook']);
  });
});

describe('eventbridge: a Pulse Person Erased event on the bus', () => {
  const deletion = vendorFor('eventbridge').deletion as NonNullable<ReturnType<typeof vendorFor>['deletion']>;
  it('one entry on the destination bus, naming every id, with the same detail on a retry', () => {
    const plan = deletion.plan(
      { eventBusName: 'pulse-engagement-prod', source: 'acme.pulse' },
      {},
      person(),
      NOW,
    );
    if ('skipped' in plan) throw new Error('skipped');
    expect(plan.requests).toEqual([
      {
        api: 'eventbridge:PutEvents',
        entries: [
          {
            Source: 'acme.pulse',
            DetailType: ERASURE_DETAIL_TYPE,
            EventBusName: 'pulse-engagement-prod',
            Time: NOW.toISOString(),
            Detail: JSON.stringify({
              erasureId: person().erasureId,
              erasedAt: person().at,
              personKey: 'maria@example.com',
              ids: ['maria@example.com', 'anon-1', 'anon-2'],
            }),
          },
        ],
      },
    ]);
  });
  it("reads PutEvents' answer: the entry's error code, the request's error, or delivered", () => {
    const ok = answer(200, JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] }));
    expect(deletion.interpret(ok, NOW.getTime())).toEqual({ kind: 'delivered' });
    const entryFailed = (code: string) =>
      answer(200, JSON.stringify({ FailedEntryCount: 1, Entries: [{ ErrorCode: code, ErrorMessage: 'x' }] }));
    expect(deletion.interpret(entryFailed('InternalFailure'), NOW.getTime()).kind).toBe('retry');
    expect(deletion.interpret(entryFailed('AccessDeniedException'), NOW.getTime()).kind).toBe('rejected');
    const notFound = answer(400, JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no bus' }));
    expect(deletion.interpret(notFound, NOW.getTime()).kind).toBe('rejected');
    expect(deletion.interpret(answer(503, '{}'), NOW.getTime()).kind).toBe('retry');
  });
});

describe('the erased person', () => {
  it('a user with linked devices: the user id as a user, the devices as anonymous ids', () => {
    const p = erasedPerson('e1', NOW, 'maria', 'maria', ['anon-1', 'anon-2']);
    expect(p).toMatchObject({ personKey: 'maria', userIds: ['maria'], anonymousIds: ['anon-1', 'anon-2'] });
  });
  it('erased by a device id: that id is anonymous, its user the user', () => {
    const p = erasedPerson('e1', NOW, 'anon-1', 'maria', ['anon-1']);
    expect(p).toMatchObject({ userIds: ['maria'], anonymousIds: ['anon-1'] });
  });
  it('an id linked to nothing may be either: it is in both lists', () => {
    const p = erasedPerson('e1', NOW, 'x-1', 'x-1', []);
    expect(p).toMatchObject({ userIds: ['x-1'], anonymousIds: ['x-1'] });
    expect(allIds(p)).toEqual(['x-1']);
  });
});

describe('webhook: a signed person.erased message', () => {
  it('verifies with the destination secret, names every id, and keeps its webhook-id across retries', () => {
    // Signed now: receivers check the signature's timestamp against their clock.
    const sign = (at: Date) => {
      const plan = deletionOf('webhook').plan(
        { url: 'https://hooks.example.com/pulse' },
        { signingSecret: SECRET },
        person(),
        at,
      );
      if ('skipped' in plan) throw new Error('skipped');
      return plan.requests[0] as HttpRequest;
    };
    const r = sign(new Date());
    expect(r?.url).toBe('https://hooks.example.com/pulse');
    const payload = new Webhook(SECRET).verify(r?.body as string, r?.headers as Record<string, string>);
    expect(payload).toMatchObject({
      type: 'person.erased',
      data: {
        erasureId: person().erasureId,
        personKey: 'maria@example.com',
        ids: ['maria@example.com', 'anon-1', 'anon-2'],
      },
    });
    const again = sign(new Date(Date.now() + 60_000));
    expect(again?.headers['webhook-id']).toBe(r?.headers['webhook-id']);
    expect(() =>
      new Webhook(`whsec_${Buffer.from('another-secret-another').toString('base64')}`).verify(
        r?.body as string,
        r?.headers as Record<string, string>,
      ),
    ).toThrow();
  });
});

describe('Braze /users/delete', () => {
  it('at most 50 identifiers per request, one identifier kind per request, Bearer key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 130 }), fc.integer({ min: 0, max: 130 }), (users, anons) => {
        const p = person({
          userIds: Array.from({ length: users }, (_, i) => `u${i}`),
          anonymousIds: Array.from({ length: anons }, (_, i) => `a${i}`),
        });
        const requests = planned('braze', { baseUrl: 'https://rest.iad-01.braze.com' }, { apiKey: 'k' }, p);
        const bodies = requests.map(bodyOf);
        expect(requests.every((r) => r.url === 'https://rest.iad-01.braze.com/users/delete')).toBe(true);
        expect(requests.every((r) => r.headers.authorization === 'Bearer k')).toBe(true);
        for (const b of bodies) {
          expect(Object.keys(b)).toHaveLength(1);
          expect((b.external_ids ?? b.user_aliases).length).toBeLessThanOrEqual(BRAZE_DELETE_LIMIT);
        }
        expect(bodies.flatMap((b) => b.external_ids ?? [])).toEqual(p.userIds);
        expect(
          bodies.flatMap((b) => (b.user_aliases ?? []).map((a: { alias_name: string }) => a.alias_name)),
        ).toEqual(p.anonymousIds);
        expect(
          bodies
            .flatMap((b) => b.user_aliases ?? [])
            .every((a: { alias_label: string }) => a.alias_label === 'pulse_anonymous_id'),
        ).toBe(true);
        expect(requests).toHaveLength(Math.ceil(users / 50) + Math.ceil(anons / 50));
      }),
    );
  });
  it('201 is done; 429 and 5xx are retried (Retry-After kept); 401/403 (no users.delete permission) refused', () => {
    const braze = deletionOf('braze');
    const now = NOW.getTime();
    expect(braze.interpret(answer(201, '{"deleted":1,"message":"success"}'), now)).toEqual({
      kind: 'delivered',
    });
    expect(braze.interpret(answer(429, '', { 'retry-after': '30' }), now)).toMatchObject({
      kind: 'retry',
      retryAfterMs: 30_000,
    });
    expect(braze.interpret(answer(503), now).kind).toBe('retry');
    expect(braze.interpret({ failure: 'timeout', message: 'no answer' }, now).kind).toBe('retry');
    expect(braze.interpret(answer(401, '{"message":"Invalid API key"}'), now)).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('401'),
    });
  });
});

describe('HubSpot GDPR delete', () => {
  it('one request per e-mail id, by idProperty email, normalised as the hubspot codec matches contacts', () => {
    const requests = planned(
      'hubspot',
      { mode: 'events', baseUrl: 'https://hs.test' },
      { accessToken: 't' },
      person({ personKey: ' Maria@Example.com', userIds: [' Maria@Example.com'], anonymousIds: ['anon-1'] }),
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe('https://hs.test/crm/v3/objects/contacts/gdpr-delete');
    expect(requests[0]?.headers.authorization).toBe('Bearer t');
    expect(bodyOf(requests[0] as { body: string })).toEqual({
      objectId: 'maria@example.com',
      idProperty: 'email',
    });
  });
  it('a person without an e-mail user id was never sent (anonymous ids never are): skipped, with the reason', () => {
    const plan = deletionOf('hubspot').plan(
      { mode: 'events' },
      { accessToken: 't' },
      person({ personKey: 'u1', userIds: ['u1'], anonymousIds: ['anon@device'] }),
      NOW,
    );
    expect(plan).toEqual({ skipped: expect.stringContaining('e-mail') });
  });
  it('204 done; 404 (no such contact) is nothing to delete; 429 retried; 400 refused', () => {
    const hs = deletionOf('hubspot');
    const now = NOW.getTime();
    expect(hs.interpret(answer(204), now).kind).toBe('delivered');
    expect(hs.interpret(answer(404, '{"message":"not found"}'), now).kind).toBe('delivered');
    expect(hs.interpret(answer(429, '{"errorType":"RATE_LIMIT"}'), now).kind).toBe('retry');
    expect(hs.interpret(answer(400, '{"category":"VALIDATION_ERROR"}'), now).kind).toBe('rejected');
  });
});

describe('Mixpanel GDPR API', () => {
  const settings = { projectId: '42', projectToken: 'abc123', baseUrl: 'https://api-eu.mixpanel.com' };
  it('every id as a distinct_id, at most 2,000 per request, the project token and the GDPR OAuth token', () => {
    const ids = Array.from({ length: 4100 }, (_, i) => `a${i}`);
    const requests = planned(
      'mixpanel',
      settings,
      { gdprToken: 'oauth' },
      person({ userIds: ['u'], anonymousIds: ids }),
    );
    expect(requests.map((r) => bodyOf(r).distinct_ids.length)).toEqual([
      MIXPANEL_DELETE_LIMIT,
      MIXPANEL_DELETE_LIMIT,
      101,
    ]);
    expect(requests[0]?.url).toBe('https://eu.mixpanel.com/api/app/data-deletions/v3.0/?token=abc123');
    expect(requests[0]?.headers.authorization).toBe('Bearer oauth');
    expect(bodyOf(requests[0] as { body: string }).compliance_type).toBe('GDPR');
  });
  it('without the GDPR token or the project token: skipped, naming what is missing', () => {
    const plan = deletionOf('mixpanel').plan(
      { projectId: '42' },
      { serviceAccountUser: 's', serviceAccountSecret: 'p' },
      person(),
      NOW,
    );
    expect(plan).toEqual({
      skipped: "Mixpanel's GDPR API needs credentials.gdprToken and settings.projectToken",
    });
  });
  it('finds the GDPR host of each data residency', () => {
    expect(mixpanelGdprBase({})).toBe('https://mixpanel.com');
    expect(mixpanelGdprBase({ baseUrl: 'https://api.mixpanel.com' })).toBe('https://mixpanel.com');
    expect(mixpanelGdprBase({ baseUrl: 'https://api-in.mixpanel.com' })).toBe('https://in.mixpanel.com');
    expect(mixpanelGdprBase({ baseUrl: 'http://127.0.0.1:9' })).toBe('http://127.0.0.1:9');
    expect(mixpanelGdprBase({ gdprBaseUrl: 'https://x.test' })).toBe('https://x.test');
  });
  it('takes the optional GDPR token and project token in a definition, and refuses a malformed token', () => {
    const body: DestinationBody = {
      type: 'mixpanel',
      enabled: true,
      filter: {},
      settings: { projectId: '42', projectToken: 'abc123' },
      credentials: { serviceAccountUser: 's', serviceAccountSecret: 'p', gdprToken: 'oauth' },
      consentPurpose: 'analytics',
    };
    expect(checkTypeFields(body, true)).toEqual([]);
    expect(
      checkTypeFields({ ...body, settings: { projectId: '42', projectToken: 'no spaces' } }, true),
    ).toEqual([expect.objectContaining({ path: 'settings.projectToken' })]);
  });
});

describe('a plan of several requests', () => {
  it('is refused if any is, else retried if any is (the longest Retry-After), else done', () => {
    const done = { kind: 'delivered' } as const;
    const retry = (ms?: number) =>
      ({ kind: 'retry', reason: '503', ...(ms !== undefined && { retryAfterMs: ms }) }) as const;
    const refused = { kind: 'rejected', reason: '403 forbidden' } as const;
    expect(combineOutcomes([done, done])).toEqual(done);
    expect(combineOutcomes([done, retry(1000), retry(5000)])).toEqual({
      kind: 'retry',
      reason: '503',
      retryAfterMs: 5000,
    });
    expect(combineOutcomes([retry(), refused, done])).toEqual(refused);
  });
});

describe('answers kept in the status', () => {
  it('blank an id in any letter case and URL-encoded, as vendors echo what they normalised', () => {
    expect(
      redactIds('404 contact maria@example.com / MARIA@EXAMPLE.COM / maria%40example.com not found', [
        ' Maria@Example.com',
      ]),
    ).toBe('404 contact <id> / <id> / <id> not found');
    expect(redactIds('id a.b+c (x)', ['a.b+c', '(x)'])).toBe('id <id> <id>');
  });
  it('never hold an id of the person, however the vendor echoes it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ minLength: 1, maxLength: 12 }).filter((id) => id.trim() === id && id !== ''),
          { minLength: 1, maxLength: 4 },
        ),
        fc.string({ maxLength: 20 }),
        (ids, noise) => {
          const text = `${noise}${ids.join(noise)}${noise}`;
          const out = redactIds(text, ids);
          // Blanking cannot create an id anew out of what is left, except inside the placeholder.
          for (const id of ids)
            if (!'<id>'.includes(id)) expect(out.split('<id>').join('\u0000')).not.toContain(id);
        },
      ),
    );
  });
});

describe('GA4 User Deletion API, through a service account', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account: ServiceAccount = {
    client_email: 'pulse-erasure@project.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  const credentials = {
    apiSecret: 's',
    serviceAccountKey: JSON.stringify({ type: 'service_account', ...account }),
  };
  const settings = { measurementId: 'G-TEST123', propertyId: '123456' };
  const ga4 = deletionOf('ga4');

  it('asks for a token with an RS256 JWT the service account signed, scoped to user deletion, valid an hour', () => {
    const request = ga4.auth?.request(settings, credentials, NOW);
    if (!request || 'skipped' in request) throw new Error('no token request');
    expect(request.url).toBe('https://oauth2.googleapis.com/token');
    const form = new URLSearchParams(request.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [header, claims, signature] = (form.get('assertion') as string).split('.');
    expect(
      createVerify('RSA-SHA256')
        .update(`${header}.${claims}`)
        .verify(publicKey, Buffer.from(signature as string, 'base64url')),
    ).toBe(true);
    const c = JSON.parse(Buffer.from(claims as string, 'base64url').toString());
    expect(c).toEqual({
      iss: account.client_email,
      scope: 'https://www.googleapis.com/auth/analytics.user.deletion',
      aud: account.token_uri,
      iat: NOW.getTime() / 1000,
      exp: NOW.getTime() / 1000 + 3600,
    });
  });
  it('one upsert per id with the token: user ids as USER_ID, anonymous ids as CLIENT_ID (the codec’s client_id)', () => {
    const planned = ga4.plan(settings, credentials, person(), NOW, 'ya29.t');
    if ('skipped' in planned) throw new Error('skipped');
    const plan = { requests: planned.requests as HttpRequest[] };
    expect(
      plan.requests.every(
        (r) => r.url === 'https://www.googleapis.com/analytics/v3/userDeletion/userDeletionRequests:upsert',
      ),
    ).toBe(true);
    expect(plan.requests.every((r) => r.headers.authorization === 'Bearer ya29.t')).toBe(true);
    expect(plan.requests.map(bodyOf)).toEqual([
      {
        kind: 'analytics#userDeletionRequest',
        id: { type: 'USER_ID', userId: 'maria@example.com' },
        propertyId: '123456',
      },
      {
        kind: 'analytics#userDeletionRequest',
        id: { type: 'CLIENT_ID', userId: 'anon-1' },
        propertyId: '123456',
      },
      {
        kind: 'analytics#userDeletionRequest',
        id: { type: 'CLIENT_ID', userId: 'anon-2' },
        propertyId: '123456',
      },
    ]);
  });
  it('without the service account key or the property id: skipped, naming what is missing', () => {
    expect(ga4.auth?.request({ measurementId: 'G-TEST123' }, { apiSecret: 's' }, NOW)).toEqual({
      skipped: "GA4's User Deletion API needs credentials.serviceAccountKey and settings.propertyId",
    });
    expect(parseServiceAccount('{"client_email":"x"}')).toEqual({ invalid: expect.any(String) });
  });
  it('reads the token answer: the access token, or the failed exchange as an outcome', () => {
    const now = NOW.getTime();
    expect(accessToken(answer(200, '{"access_token":"ya29.a","expires_in":3599}'), now)).toEqual({
      token: 'ya29.a',
    });
    expect(accessToken(answer(400, '{"error":"invalid_grant"}'), now)).toMatchObject({ kind: 'rejected' });
    expect(accessToken(answer(503), now)).toMatchObject({ kind: 'retry' });
    expect(accessToken(answer(200, '{}'), now)).toMatchObject({ kind: 'rejected' });
  });
  it('takes a service account key and property id in a definition; refuses a key that is not one', () => {
    const body: DestinationBody = {
      type: 'ga4',
      enabled: true,
      filter: {},
      settings,
      credentials,
      consentPurpose: 'analytics',
    };
    expect(checkTypeFields(body, true)).toEqual([]);
    expect(
      checkTypeFields({ ...body, credentials: { apiSecret: 's', serviceAccountKey: 'nope' } }, true),
    ).toEqual([expect.objectContaining({ path: 'credentials.serviceAccountKey' })]);
  });
});
