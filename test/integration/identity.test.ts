import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentsRepository } from '../../functions/adapters/experiments-repository';
import { IdentityRepository } from '../../functions/adapters/identity-repository';
import { experimentCounterKey, MetricsRepository } from '../../functions/adapters/metrics-repository';
import { PeopleRepository, personItemKey } from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { applyBatch, type BatchDeps } from '../../functions/aggregate/apply-batch';
import type { CanonicalEvent } from '../../functions/core/events';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { canonicalEvent, SHARD, toRecord } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let deps: BatchDeps;
let n = 0;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const t = emulators.names.tables;
  deps = {
    people: new PeopleRepository(db, t.users),
    counters: new MetricsRepository(db, t.metrics),
    quarantine: new QuarantineRepository(db, t.quarantine),
    identity: new IdentityRepository(db, t.users, new ExperimentsRepository(db, t.experiments)),
    goals: async () => new Map([['exp-1', { type: 'conversion' }]]),
  };
});
afterAll(() => emulators.close());

const person = async (key: string) =>
  (await db.send(new GetCommand({ TableName: emulators.names.tables.users, Key: personItemKey(key) }))).Item;
/** Records at increasing positions, so each call is a later stretch of the stream. */
const records = (events: CanonicalEvent[], shard = SHARD) => events.map((e) => toRecord(e, ++n, shard));
const anon = (a: string, over: Partial<CanonicalEvent> = {}) =>
  canonicalEvent({
    personKey: a,
    anonymousId: a,
    userId: undefined,
    campaignId: `c-${a}`,
    type: 'view',
    ...over,
  });
const user = (u: string, over: Partial<CanonicalEvent> = {}) =>
  canonicalEvent({ personKey: u, userId: u, campaignId: `c-${u}`, type: 'click', ...over });
const identify = (a: string, u: string) =>
  canonicalEvent({
    type: 'identify',
    personKey: u,
    userId: u,
    anonymousId: a,
    campaignId: undefined,
    eventId: `id-${a}-${u}`,
  });
const total = (stats: Record<string, unknown> | undefined) =>
  Object.values((stats?.counts as Record<string, number>) ?? {}).reduce((a, b) => a + b, 0);

describe('identity merges', () => {
  it('merges an anonymous history into the user once, and aims later anonymous events at the user', async () => {
    const a1 = anon('web-1');
    await applyBatch(records([a1, anon('web-1'), user('u-1')]), deps);
    const id = records([identify('web-1', 'u-1')]);
    await applyBatch(id, deps);
    await applyBatch(id, deps); // redelivered identify
    await applyBatch(records([anon('web-1'), { ...a1 }]), deps); // a new event and a client retry
    const merged = await person('u-1');
    expect(merged?.counts).toEqual({ view: 3, click: 1 });
    // Done merges leave the user's list (it stays as short as the merges in progress): the
    // anonymous item says it is folded.
    expect(merged?.merged).toEqual([]);
    expect((await person('web-1'))?.mergedInto).toBe('u-1');
    expect((await person('web-1'))?.folded).toBe(true);
    expect(total(await person('web-1'))).toBe(2); // frozen at the merge
  });

  it('keeps a kiosk user with many linked devices bounded: 60 merges leave no list behind', async () => {
    const devices = Array.from({ length: 60 }, (_, i) => `kiosk-web-${i}`);
    await applyBatch(records(devices.map((d) => anon(d))), deps);
    await applyBatch(records(devices.map((d) => identify(d, 'kiosk-user'))), deps);
    const merged = await person('kiosk-user');
    expect(total(merged)).toBe(60);
    expect(merged?.merged).toEqual([]);
    for (const d of devices.slice(0, 3)) expect((await person(d))?.folded).toBe(true);
  });

  it('merges once under concurrent identifies of the same ids, from two shards', async () => {
    await applyBatch(records([anon('web-2'), anon('web-2'), anon('web-2')]), deps);
    const [x, y] = [
      records([identify('web-2', 'u-2')], 'shardId-000000000001'),
      records([identify('web-2', 'u-2')], 'shardId-000000000002'),
    ];
    await Promise.all([applyBatch(x, deps), applyBatch(y, deps), applyBatch(x, deps)]);
    expect((await person('u-2'))?.counts).toEqual({ view: 3 });
  });

  it('keeps the first link: a second user for the same anonymous id is refused', async () => {
    await applyBatch(records([anon('web-3'), identify('web-3', 'u-3')]), deps);
    const outcome = await applyBatch(records([identify('web-3', 'u-4')]), deps);
    expect(outcome.links.conflict).toBe(1);
    expect(total(await person('u-4'))).toBe(0);
    expect((await person('u-3'))?.counts).toEqual({ view: 1 });
  });

  it('merges into the root user when the named user is itself a linked id', async () => {
    await applyBatch(records([identify('mid-9', 'top-9')]), deps);
    await applyBatch(records([anon('web-9'), anon('web-9')]), deps);
    await applyBatch(records([identify('web-9', 'mid-9')]), deps);
    expect((await person('top-9'))?.counts).toEqual({ view: 2 });
    expect(total(await person('mid-9'))).toBe(0);
  });

  it('refuses self-links and cycles', async () => {
    const self = await applyBatch(records([identify('u-5', 'u-5')]), deps);
    expect(self.links.self).toBe(1);
    await applyBatch(records([identify('web-6', 'u-6')]), deps);
    const cycle = await applyBatch(records([identify('u-6', 'web-6')]), deps);
    expect(cycle.links.self + cycle.links.conflict).toBe(1);
  });

  it('finishes a merge a crash interrupted, without losing or doubling counts', async () => {
    await applyBatch(records([anon('web-7'), anon('web-7')]), deps);
    let saves = 0;
    const reported: string[] = [];
    const crashing: BatchDeps = {
      ...deps,
      onError: (failure) => reported.push(`${failure.stage}: ${(failure.error as Error).message}`),
      people: Object.assign(Object.create(deps.people), {
        save: async (...args: Parameters<PeopleRepository['save']>) => {
          // The freeze of web-7 goes through; the fold into u-7 crashes.
          if (++saves === 2) throw new Error('injected crash');
          return deps.people.save(...args);
        },
      }),
    };
    const id = records([identify('web-7', 'u-7')]);
    const first = await applyBatch(id, crashing);
    expect(first.failedFrom).toBe(id[0]?.kinesis.sequenceNumber);
    expect(reported).toEqual(['identity: injected crash']);
    // Meanwhile an anonymous retry arrives, aimed at u-7: still a duplicate.
    const retry = await person('web-7');
    expect(retry?.mergedInto).toBe('u-7');
    await applyBatch(id, deps);
    expect((await person('u-7'))?.counts).toEqual({ view: 2 });
  });

  it('moves experiment assignments to the user', async () => {
    await db.send(
      new PutCommand({
        TableName: emulators.names.tables.experiments,
        Item: { pk: 'person#web-8', sk: 'exp#exp-9', experimentId: 'exp-9', variant: 'B' },
      }),
    );
    await applyBatch(records([anon('web-8'), identify('web-8', 'u-8')]), deps);
    const moved = await db.send(
      new GetCommand({
        TableName: emulators.names.tables.experiments,
        Key: { pk: 'person#u-8', sk: 'exp#exp-9' },
      }),
    );
    expect(moved.Item?.variant).toBe('B');
  });
});

describe('experiment exposures and conversions', () => {
  const counters = async (variant: string) =>
    (
      await db.send(
        new GetCommand({
          TableName: emulators.names.tables.metrics,
          Key: experimentCounterKey('exp-1', variant, SHARD),
        }),
      )
    ).Item;
  const exposure = (p: string, variant: string, over: Partial<CanonicalEvent> = {}) =>
    canonicalEvent({
      type: 'exposure',
      personKey: p,
      userId: p,
      experimentId: 'exp-1',
      variant,
      campaignId: undefined,
      data: { placement: 'home' },
      ...over,
    });
  const conversion = (p: string, over: Partial<CanonicalEvent> = {}) =>
    canonicalEvent({ type: 'conversion', personKey: p, userId: p, campaignId: undefined, ...over });

  it('counts distinct exposed persons, and conversions after the first exposure once each', async () => {
    const early = new Date(Date.now() - 3600_000).toISOString();
    const batch = records([
      conversion('x-1', { eventTime: early }), // before any exposure: not attributed
      exposure('x-1', 'A'),
      exposure('x-1', 'A'), // served again: one exposure per person
      conversion('x-1'),
      conversion('x-1'), // a second conversion: once per person
      exposure('x-2', 'B'),
      exposure('x-3', 'B', { data: { placement: 'home', forced: true } }), // QA: never counted
      conversion('x-3'),
    ]);
    await applyBatch(batch, deps);
    await applyBatch(batch.slice(2), deps); // a redelivery re-derives effects, counts nothing twice
    expect(await counters('A')).toMatchObject({ exposures: 1, conversions: 1 });
    expect(await counters('B')).toMatchObject({ exposures: 1 });
    expect((await counters('B'))?.conversions).toBeUndefined();
  });
});

describe("the consumer's linked ids", () => {
  it('are cached briefly, and a link this container makes is seen at once', async () => {
    const t = emulators.names.tables;
    let queries = 0;
    const counting = DynamoDBDocumentClient.from(emulators.dynamodb);
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries++;
        return next(args);
      },
      { step: 'initialize', name: 'countQueries' },
    );
    const repo = new IdentityRepository(
      counting,
      t.users,
      new ExperimentsRepository(counting, t.experiments),
    );
    const user = `cache-user-${++n}`;
    expect(await repo.linkedIds(user)).toEqual([]);
    expect(await repo.linkedIds(user)).toEqual([]);
    expect(queries).toBe(1);
    await repo.link(`cache-anon-${n}`, user, '2026-06-01T00:00:00.000Z');
    expect((await repo.linkedIds(user)).map((l) => l.anonymousId)).toEqual([`cache-anon-${n}`]);
    expect(queries).toBe(1);
  });
});
