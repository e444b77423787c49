import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorsRepository } from '../../functions/adapters/connectors-repository';
import { HubspotClient } from '../../functions/adapters/hubspot-client';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import { PeopleRepository } from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { TraitDeclarationsRepository } from '../../functions/adapters/trait-declarations-repository';
import { applyBatch, type BatchDeps } from '../../functions/aggregate/apply-batch';
import type { ConnectorBody } from '../../functions/core/crm-sync';
import type { Accepted } from '../../functions/core/ingest';
import { traitHash, traitValues } from '../../functions/core/traits';
import { runConnector, type SyncDeps } from '../../functions/traits/crm-syncer';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { type FakeHubspot, startFakeHubspot } from '../support/fake-hubspot';
import { canonicalEvent, toRecord } from '../support/stream-records';

const TOKEN = 'pat-na1-test-token';
const key = Buffer.from('s'.repeat(32));
let emulators: Emulators;
let db: DynamoDBDocumentClient;
let hubspot: FakeHubspot;
let people: PeopleRepository;
let connectors: ConnectorsRepository;
let batchDeps: BatchDeps;
let n = 0;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const t = emulators.names.tables;
  people = new PeopleRepository(db, t.users);
  connectors = new ConnectorsRepository(db, t.traits);
  batchDeps = {
    people,
    counters: new MetricsRepository(db, t.metrics),
    quarantine: new QuarantineRepository(db, t.quarantine),
  };
  const declarations = new TraitDeclarationsRepository(db, t.traits);
  const now = new Date();
  await declarations.put('plan', { type: 'string', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('seats', { type: 'number', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('interests', { type: 'string[]', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('email', { type: 'string', pii: 'hash', purpose: 'marketing' }, now);
  hubspot = await startFakeHubspot(TOKEN);
});
afterAll(async () => {
  await hubspot?.close();
  await emulators?.close();
});

/** The stream, as the consumer sees it: every published event applied in order. */
const published: Accepted[] = [];
const consume = async (events: readonly Accepted[]) =>
  applyBatch(
    events.map((a) => toRecord(a.event, ++n)),
    batchDeps,
  );

const deps = (over: Partial<SyncDeps> = {}): SyncDeps => ({
  connectors,
  declarations: async () => new TraitDeclarationsRepository(db, emulators.names.tables.traits).byName(),
  findByMatch: (trait, hash) => people.findByMatch(trait, hash),
  publish: async (events) => {
    published.push(...events);
    await consume(events);
  },
  token: async (id) => (id.startsWith('no-token') ? undefined : TOKEN),
  signingKey: async () => key,
  client: (token, options) =>
    new HubspotClient(token, { ...options, baseUrl: hubspot.url, sleep: async () => undefined }),
  ...over,
});

const byUserId: ConnectorBody = {
  kind: 'hubspot',
  properties: { plan_tier: 'plan', seat_count: 'seats', topics: 'interests' },
  match: { by: 'userId', property: 'pulse_user_id' },
  everyMinutes: 15,
  enabled: true,
};
const T0 = Date.parse('2026-06-01T00:00:00.000Z');
const traitsOf = async (personKey: string) =>
  traitValues((await people.load([personKey])).people.get(personKey)?.stats.traits);
const connectorOf = async (id: string) => {
  const c = await connectors.get(id);
  if (!c) throw new Error(`no connector ${id}`);
  return c;
};
const later = (minutes: number) => new Date(Date.now() + minutes * 60_000);

describe('HubSpot connector against a fake HubSpot', () => {
  it('pulls every contact page by page through 429s, matched by user id, bad values rejected by trait name', async () => {
    hubspot.contacts.clear();
    for (let i = 1; i <= 260; i++)
      hubspot.contacts.set(String(i), {
        id: String(i),
        // 130 contacts changed at one instant (a bulk edit): paged with `after` within it.
        modified: i <= 130 ? T0 : T0 + i * 1000,
        properties: {
          pulse_user_id: i % 50 === 0 ? null : `crm-u-${i}`,
          plan_tier: i % 2 ? 'pro' : 'free',
          seat_count: i === 7 ? 'lots' : String(i),
          topics: 'golf;tennis',
        },
      });
    hubspot.rateLimit = (call) => (call === 1 ? { retryAfter: 0 } : call % 4 === 0 ? {} : undefined);
    await connectors.put('hs-main', byUserId, new Date());
    const report = await runConnector(deps(), await connectorOf('hs-main'), new Date(), Date.now() + 60_000);
    expect(report).toMatchObject({
      status: 'ok',
      pulled: 260,
      unmatched: 5,
      rejected: 1,
      rejectedTraits: ['seats'],
    });
    expect(report?.applied).toBe(254);
    expect(report?.rateLimited).toBeGreaterThanOrEqual(2);
    expect(await traitsOf('crm-u-3')).toEqual({ plan: 'pro', seats: 3, interests: ['golf', 'tennis'] });
    expect(await traitsOf('crm-u-7')).toEqual({});
    // Every request asked for the mapped properties, sorted by last change, at most 100 a page.
    for (const r of hubspot.requests)
      expect(r).toMatchObject({
        limit: 100,
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      });
    expect(hubspot.requests.some((r) => r.after !== undefined)).toBe(true);
    // No value in the report.
    expect(JSON.stringify(report)).not.toMatch(/crm-u-|pro|golf/);

    const status = await connectors.state('hs-main');
    expect(status.cursor?.since).toBe(T0 + 260_000);
    expect(status.leaseUntil).toBeUndefined();
  });

  it('pulls only what changed since the cursor on the next run, and is not run again before it is due', async () => {
    const sent = published.length;
    expect(
      await runConnector(deps(), await connectorOf('hs-main'), new Date(), Date.now() + 60_000),
    ).toBeUndefined();
    const c = hubspot.contacts.get('3') as NonNullable<ReturnType<typeof hubspot.contacts.get>>;
    hubspot.contacts.set('3', {
      ...c,
      modified: T0 + 400_000,
      properties: { ...c.properties, plan_tier: 'team' },
    });
    hubspot.rateLimit = () => undefined;
    const report = await runConnector(deps(), await connectorOf('hs-main'), later(16), Date.now() + 60_000);
    expect(report).toMatchObject({ status: 'ok', pulled: 1, applied: 1 });
    expect(published.length).toBe(sent + 1);
    expect((await traitsOf('crm-u-3')).plan).toBe('team');
  });

  it('resumes from its cursor after a crash between a page sent and its checkpoint, applying each contact once', async () => {
    hubspot.contacts.clear();
    for (let i = 1; i <= 350; i++)
      hubspot.contacts.set(String(i), {
        id: String(i),
        modified: T0 + i * 1000,
        properties: { pulse_user_id: `crash-u-${i}`, plan_tier: 'pro', seat_count: '1', topics: '' },
      });
    hubspot.rateLimit = () => undefined;
    await connectors.put('hs-crash', byUserId, new Date());
    // The process dies after sending page 3, before its checkpoint: nothing after runs (not even finish).
    let checkpoints = 0;
    const dying = new Proxy(connectors, {
      get(target, prop, receiver) {
        if (prop === 'checkpoint')
          return async (...args: Parameters<ConnectorsRepository['checkpoint']>) => {
            if (++checkpoints === 3) throw new Error('process killed');
            return target.checkpoint(...args);
          };
        if (prop === 'finish')
          return async () => {
            throw new Error('process killed');
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const start = published.length;
    await expect(
      runConnector(
        deps({ connectors: dying }),
        await connectorOf('hs-crash'),
        new Date(),
        Date.now() + 60_000,
      ),
    ).rejects.toThrow('process killed');
    const afterCrash = await connectors.state('hs-crash');
    // Keyset pages: 1..100, then 101..199 past the one seen at 100, then page 3 (200..298) lost.
    expect(afterCrash.cursor?.since).toBe(T0 + 199_000);
    // The dead run's lease keeps another run off until it lapses.
    expect(
      await runConnector(deps(), await connectorOf('hs-crash'), later(16), Date.now() + 60_000),
    ).toBeUndefined();

    const resumed = await runConnector(
      deps({ clock: () => (afterCrash.leaseUntil ?? 0) + 1 }),
      await connectorOf('hs-crash'),
      later(16),
      (afterCrash.leaseUntil ?? 0) + 120_000,
    );
    expect(resumed).toMatchObject({ status: 'ok', pulled: 151, applied: 151 });
    // Page 3 was sent twice; the consumer applied it once (same event ids).
    const ids = published.slice(start).map((a) => a.event.eventId);
    expect(ids.length).toBe(298 + 151);
    expect(new Set(ids).size).toBe(350);
    const again = await consume(published.slice(start + 199, start + 298));
    expect(again.applied).toBe(0);
    for (const i of [1, 250, 350]) expect((await traitsOf(`crash-u-${i}`)).plan).toBe('pro');
  });

  it('matches by a hashed e-mail people already carry, and reports a missing token or a 401', async () => {
    await applyBatch(
      [
        toRecord(
          canonicalEvent({
            type: 'identify',
            personKey: 'mail-u-1',
            userId: 'mail-u-1',
            campaignId: undefined,
            data: { traits: { email: traitHash(key, 'ann@example.com') } },
          }),
          ++n,
        ),
      ],
      batchDeps,
    );
    hubspot.contacts.clear();
    hubspot.contacts.set('9', {
      id: '9',
      modified: T0,
      properties: { email: 'Ann@Example.com', plan_tier: 'team' },
    });
    hubspot.contacts.set('10', {
      id: '10',
      modified: T0,
      properties: { email: 'nobody@example.com', plan_tier: 'team' },
    });
    const body: ConnectorBody = {
      ...byUserId,
      properties: { plan_tier: 'plan' },
      match: { by: 'hashedTrait', property: 'email', trait: 'email' },
    };
    await connectors.put('hs-mail', body, new Date());
    const report = await runConnector(deps(), await connectorOf('hs-mail'), new Date(), Date.now() + 60_000);
    expect(report).toMatchObject({ status: 'ok', pulled: 2, applied: 1, unmatched: 1 });
    expect((await traitsOf('mail-u-1')).plan).toBe('team');

    await connectors.put('no-token', body, new Date());
    expect(
      await runConnector(deps(), await connectorOf('no-token'), new Date(), Date.now() + 60_000),
    ).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('No token'),
    });
    await connectors.put('bad-token', body, new Date());
    const denied = await runConnector(
      deps({ token: async () => 'wrong' }),
      await connectorOf('bad-token'),
      new Date(),
      Date.now() + 60_000,
    );
    expect(denied).toMatchObject({
      status: 'failed',
      error: 'HubSpot answered 401 (INVALID_AUTHENTICATION)',
    });
  });

  it('stops as rate_limited when HubSpot keeps answering 429, keeping its cursor for the next run', async () => {
    hubspot.rateLimit = () => ({ retryAfter: 0 });
    await connectors.put('hs-throttled', byUserId, new Date());
    const report = await runConnector(
      deps(),
      await connectorOf('hs-throttled'),
      new Date(),
      Date.now() + 60_000,
    );
    expect(report).toMatchObject({ status: 'rate_limited', rateLimited: 5, pulled: 0 });
    expect((await connectors.state('hs-throttled')).cursor).toBeUndefined();
    hubspot.rateLimit = () => undefined;
  });
});
