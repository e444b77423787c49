/**
 * Erasure forwarded to vendors, against dynalite and the fake vendors' documented deletion endpoints:
 * every destination whose type has a deletion API gets its request (disabled ones too), a vendor that
 * is down is retried with the outbox's backoff until it answers, a refusal fails with the vendor's
 * answer — and the person's ids leave the outbox once the vendor answered for good, while the
 * outcome (without them) stays for the erasure's status.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderSecretsStore } from '../../functions/adapters/destination-secrets';
import { DestinationsRepository } from '../../functions/adapters/destinations-repository';
import { ErasureRequests } from '../../functions/adapters/erasure-requests';
import { OutboxPersonalData, OutboxRepository } from '../../functions/adapters/outbox-repository';
import { sendRequest } from '../../functions/adapters/vendor-transport';
import type { Destination } from '../../functions/core/destinations/definition';
import { erasedPerson } from '../../functions/core/destinations/deletion';
import { eventMessage } from '../../functions/core/destinations/delivery';
import { Pacer } from '../../functions/destinations/deliver';
import { type ForwardDeps, forwardDue, requestDeletions } from '../../functions/destinations/forward-erasure';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { sampleEvent, TEST_WEBHOOK_SECRET } from '../support/destinations';
import { type FakeBraze, startFakeBraze } from '../support/fake-vendors/braze';
import { type FakeGa4, startFakeGa4 } from '../support/fake-vendors/ga4';
import { type FakeHubspot, startFakeHubspot } from '../support/fake-vendors/hubspot';
import { type FakeMixpanel, startFakeMixpanel } from '../support/fake-vendors/mixpanel';
import { type FakeWebhook, startFakeWebhook } from '../support/fake-vendors/webhook';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let destinations: DestinationsRepository;
let requests: ErasureRequests;
let secretsDir: string;
let secrets: FolderSecretsStore;
let webhook: FakeWebhook;
let braze: FakeBraze;
let brazeNoPermission: FakeBraze;
let hubspot: FakeHubspot;
let mixpanel: FakeMixpanel;
const SECRET = TEST_WEBHOOK_SECRET;
let n = 0;
const uid = (name: string) => `${name}-${++n}`;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  destinations = new DestinationsRepository(db, emulators.names.tables.destinations);
  requests = new ErasureRequests(db, emulators.names.tables.outbox);
  secretsDir = mkdtempSync(join(tmpdir(), 'pulse-erasure-secrets-'));
  secrets = new FolderSecretsStore(secretsDir, 'pulse/test/destinations/');
  webhook = await startFakeWebhook(() => SECRET);
  braze = await startFakeBraze('braze-key');
  brazeNoPermission = await startFakeBraze('braze-key', { usersDelete: false });
  hubspot = await startFakeHubspot('hs-token');
  mixpanel = await startFakeMixpanel({
    projectId: '42',
    user: 'svc',
    secret: 'pw',
    gdprToken: 'gdpr-oauth',
    projectToken: 'tok42',
  });
});
afterAll(async () => {
  for (const f of [webhook, braze, brazeNoPermission, hubspot, mixpanel]) await f?.close();
  await emulators?.close();
  rmSync(secretsDir, { recursive: true, force: true });
});

const deps = (): ForwardDeps => ({
  requests,
  destinations,
  secrets,
  send: (r) => sendRequest(r, 1000),
  pace: new Pacer(),
});

const destination = async (
  type: Destination['type'],
  settings: Record<string, unknown>,
  credentials: Record<string, string>,
  over: Partial<Destination> = {},
): Promise<Destination> => {
  const d: Destination = {
    destinationId: uid(type),
    type,
    enabled: true,
    filter: {},
    settings,
    consentPurpose: 'marketing',
    audiences: [],
    credentialFields: Object.keys(credentials),
    createdAt: '',
    updatedAt: '',
    ...over,
  };
  await destinations.put(d);
  await secrets.write(d.destinationId, credentials);
  return d;
};
const hookDestination = () =>
  destination('webhook', { url: `${webhook.url}/pulse` }, { signingSecret: SECRET });
const brazeDestination = (fake = braze, over: Partial<Destination> = {}) =>
  destination('braze', { baseUrl: fake.url }, { apiKey: 'braze-key' }, over);

const person = (email: string) => erasedPerson(randomUUID(), new Date(), email, email, [`anon-of-${email}`]);
const rawItems = async (erasureId: string) =>
  ((await db.send(new ScanCommand({ TableName: emulators.names.tables.outbox }))).Items ?? []).filter(
    (i) => i.erasureId === erasureId,
  );
const forward = (now = new Date()) => forwardDue(deps(), now, Date.now() + 30_000);

describe('erasure forwarded to deletion APIs', () => {
  it('reaches every destination whose vendor has one, enabled or not; skips what cannot be sent, saying why', async () => {
    const list = [
      await hookDestination(),
      await brazeDestination(braze, { enabled: false }),
      await destination('hubspot', { mode: 'properties', baseUrl: hubspot.url }, { accessToken: 'hs-token' }),
      await destination(
        'mixpanel',
        { projectId: '42', projectToken: 'tok42', baseUrl: mixpanel.url },
        { serviceAccountUser: 'svc', serviceAccountSecret: 'pw', gdprToken: 'gdpr-oauth' },
      ),
      await destination(
        'mixpanel',
        { projectId: '42', baseUrl: mixpanel.url },
        { serviceAccountUser: 'svc', serviceAccountSecret: 'pw' },
      ),
      await destination('ga4', { measurementId: 'G-TEST123' }, { apiSecret: 's' }),
    ];
    const [hook, brz, hs, mp, mpNoToken, ga4] = list as Destination[];
    const p = person('maria@example.com');
    const now = new Date();
    const forwarded = await requestDeletions(requests, list, p, now);
    expect(Object.keys(forwarded).sort()).toEqual(
      [hook, brz, hs, mp, mpNoToken, ga4].map((d) => d?.destinationId).sort(),
    );
    // Waiting: the ids are held, under the erasure's own partition (not the person's).
    const waiting = await rawItems(p.erasureId);
    expect(waiting).toHaveLength(6);
    expect(waiting.every((i) => String(i.pk).startsWith('o#~erasure#') && typeof i.person === 'string')).toBe(
      true,
    );

    const results = await forward(now);
    expect(results.filter((r) => r.erasureId === p.erasureId)).toHaveLength(6);

    expect(webhook.erasures.filter((e) => e.erasureId === p.erasureId)).toEqual([
      expect.objectContaining({
        personKey: 'maria@example.com',
        ids: ['maria@example.com', 'anon-of-maria@example.com'],
      }),
    ]);
    expect(webhook.unverified).toBe(0);
    expect(braze.deletions).toEqual([
      { kind: 'external_ids', ids: ['maria@example.com'] },
      { kind: 'user_aliases', ids: ['anon-of-maria@example.com'] },
    ]);
    expect(hubspot.gdprDeleted).toEqual(['maria@example.com']);
    expect(mixpanel.deletions).toEqual([
      {
        taskId: 'task-1',
        distinctIds: ['maria@example.com', 'anon-of-maria@example.com'],
        complianceType: 'GDPR',
      },
    ]);

    const status = new Map((await requests.status(p.erasureId)).map((s) => [s.destinationId, s]));
    for (const d of [hook, brz, hs, mp])
      expect(status.get(d?.destinationId as string)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(status.get(mp?.destinationId as string)?.answer).toContain('task-1');
    expect(status.get(mpNoToken?.destinationId as string)).toMatchObject({
      status: 'skipped',
      attempts: 0,
      answer: expect.stringContaining('credentials.gdprToken'),
    });
    expect(status.get(ga4?.destinationId as string)).toMatchObject({
      status: 'skipped',
      answer: expect.stringContaining('credentials.serviceAccountKey'),
    });
    // Settled: no id left anywhere in the items, and nothing due.
    const settled = await rawItems(p.erasureId);
    expect(settled.every((i) => i.person === undefined && i.dueKey === undefined)).toBe(true);
    expect(JSON.stringify(settled)).not.toMatch(/maria|anon-of/);
  });

  it('retries a vendor that answered 503 until it takes the request', async () => {
    const d = await brazeDestination();
    const p = person('ruth@example.com');
    const now = new Date();
    await requestDeletions(requests, [d], p, now);
    braze.faults.push({ status: 503, body: 'upstream unavailable' });
    const before = braze.deletions.length;
    await forward(now);
    const [first] = await requests.status(p.erasureId);
    expect(first).toMatchObject({ status: 'requested', attempts: 1, answer: expect.stringContaining('503') });
    expect((await rawItems(p.erasureId))[0]?.person).toBeDefined();
    // Nothing is due before its backoff; after it (at most 30 s for a first retry), the whole plan
    // goes again (deleting what is gone is a no-op at the vendor).
    await forward(new Date(now.getTime() + 31_000));
    expect((await requests.status(p.erasureId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(
      braze.deletions
        .slice(before)
        .slice(-2)
        .flatMap((x) => x.ids),
    ).toEqual(['ruth@example.com', 'anon-of-ruth@example.com']);
  });

  it("honours a 429's Retry-After, and reaches a destination its circuit breaker paused", async () => {
    const d = await destination(
      'hubspot',
      { mode: 'events', eventName: 'pe1_x', baseUrl: hubspot.url },
      {
        accessToken: 'hs-token',
      },
    );
    await destinations.pause(d.destinationId, 'test: vendor down', new Date());
    const p = person('rita@example.com');
    const now = new Date();
    await requestDeletions(requests, [d], p, now);
    hubspot.faults.push({
      status: 429,
      headers: { 'retry-after': '120' },
      body: '{"errorType":"RATE_LIMIT"}',
    });
    await forward(now);
    expect((await requests.status(p.erasureId))[0]).toMatchObject({ status: 'requested', attempts: 1 });
    const before = hubspot.gdprDeleted.length;
    // Not before the vendor said.
    await forward(new Date(now.getTime() + 100_000));
    expect(hubspot.gdprDeleted.length).toBe(before);
    await forward(new Date(now.getTime() + 121_000));
    expect(hubspot.gdprDeleted.slice(before)).toEqual(['rita@example.com']);
    expect((await requests.status(p.erasureId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('fails after the outbox retries (5 attempts over 3 hours), keeping the last answer and dropping the ids', async () => {
    const d = await hookDestination();
    const p = person('sam@example.com');
    const start = new Date();
    await requestDeletions(requests, [d], p, start);
    webhook.faults.push(...Array.from({ length: 20 }, () => ({ status: 500 })));
    for (let hour = 0; hour <= 6; hour++) await forward(new Date(start.getTime() + hour * 3_600_000));
    webhook.faults.length = 0;
    const [s] = await requests.status(p.erasureId);
    expect(s).toMatchObject({ status: 'failed', answer: expect.stringContaining('500') });
    expect(s?.attempts).toBeGreaterThanOrEqual(5);
    expect((await rawItems(p.erasureId))[0]?.person).toBeUndefined();
  });

  it('a refusal fails at once with the vendor answer, the ids it echoes blanked', async () => {
    const d = await brazeDestination(brazeNoPermission);
    const hook = await hookDestination();
    const p = person('tom@example.com');
    await requestDeletions(requests, [d, hook], p, new Date());
    webhook.faults.push({ status: 422, body: 'unknown person tom@example.com' });
    await forward();
    const status = new Map((await requests.status(p.erasureId)).map((s) => [s.destinationId, s]));
    expect(status.get(d.destinationId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      answer: expect.stringContaining('users.delete'),
    });
    expect(status.get(hook.destinationId)).toMatchObject({
      status: 'failed',
      answer: '422 unknown person <id>',
    });
  });

  it('a destination deleted before its request went out: failed, saying so', async () => {
    const d = await hookDestination();
    const p = person('una@example.com');
    await requestDeletions(requests, [d], p, new Date());
    await destinations.delete(d.destinationId);
    await forward();
    expect((await requests.status(p.erasureId))[0]).toMatchObject({
      status: 'failed',
      answer: 'the destination was deleted',
    });
  });

  it("is out of reach of the purge of the person's outbox partition", async () => {
    const d = await hookDestination();
    const p = person('vic@example.com');
    const outbox = new OutboxRepository(db, emulators.names.tables.outbox);
    const now = new Date();
    const message = eventMessage(sampleEvent({ personKey: p.personKey, userId: p.personKey }));
    await outbox.enqueue(
      [{ destinationId: d.destinationId, message }],
      new Date(now.getTime() + 3_600_000),
      now,
    );
    await requestDeletions(requests, [d], p, now);
    expect(await new OutboxPersonalData(outbox).erase([p.personKey, ...p.anonymousIds])).toBe(1);
    expect((await requests.status(p.erasureId))[0]?.status).toBe('requested');
    await forward(now);
    expect((await requests.status(p.erasureId))[0]?.status).toBe('delivered');
  });
});

describe('GA4 through a service account', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pem = (k: typeof privateKey) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
  const clientEmail = 'pulse-erasure@project.iam.gserviceaccount.com';
  let ga4: FakeGa4;
  beforeAll(async () => {
    ga4 = await startFakeGa4({
      measurementId: 'G-TEST123',
      apiSecret: 's',
      serviceAccount: {
        clientEmail,
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      },
    });
  });
  afterAll(async () => ga4?.close());
  const ga4Destination = (key: typeof privateKey) =>
    destination(
      'ga4',
      { measurementId: 'G-TEST123', propertyId: '123456', baseUrl: ga4.url },
      {
        apiSecret: 's',
        serviceAccountKey: JSON.stringify({
          type: 'service_account',
          client_email: clientEmail,
          private_key: pem(key),
          token_uri: `${ga4.url}/token`,
        }),
      },
    );

  it('exchanges a signed JWT for a token, then asks for the deletion of each id', async () => {
    const d = await ga4Destination(privateKey);
    const p = person('wes@example.com');
    await requestDeletions(requests, [d], p, new Date());
    await forward();
    expect(ga4.tokens).toBe(1);
    expect(ga4.deletions).toEqual([
      { type: 'USER_ID', userId: 'wes@example.com', propertyId: '123456' },
      { type: 'CLIENT_ID', userId: 'anon-of-wes@example.com', propertyId: '123456' },
    ]);
    expect((await requests.status(p.erasureId))[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a key Google does not know: the token refused, the request failed with its answer', async () => {
    const d = await ga4Destination(other);
    const p = person('xia@example.com');
    const before = ga4.deletions.length;
    await requestDeletions(requests, [d], p, new Date());
    await forward();
    expect(ga4.deletions.length).toBe(before);
    expect((await requests.status(p.erasureId))[0]).toMatchObject({
      status: 'failed',
      answer: expect.stringMatching(/^token: 400 .*invalid_grant/),
    });
  });
});
