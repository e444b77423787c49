import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentsRepository } from '../../functions/adapters/experiments-repository';
import { IdentityRepository } from '../../functions/adapters/identity-repository';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import {
  PeopleRepository,
  ProfilePersonalData,
  personItemKey,
} from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { TraitDeclarationsRepository } from '../../functions/adapters/trait-declarations-repository';
import { applyBatch, type BatchDeps } from '../../functions/aggregate/apply-batch';
import type { CanonicalEvent } from '../../functions/core/events';
import { traitHash, traitValues } from '../../functions/core/traits';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { canonicalEvent, toRecord } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let deps: BatchDeps;
let people: PeopleRepository;
let n = 0;
const key = Buffer.from('t'.repeat(32));

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const t = emulators.names.tables;
  people = new PeopleRepository(db, t.users);
  deps = {
    people,
    counters: new MetricsRepository(db, t.metrics),
    quarantine: new QuarantineRepository(db, t.quarantine),
    identity: new IdentityRepository(db, t.users, new ExperimentsRepository(db, t.experiments)),
  };
});
afterAll(() => emulators.close());

const records = (events: CanonicalEvent[]) => events.map((e) => toRecord(e, ++n));
const traitsOf = async (personKey: string) =>
  traitValues((await people.load([personKey])).people.get(personKey)?.stats.traits);
const setTraits = (personKey: string, traits: Record<string, unknown>, at: string, anonymousId?: string) =>
  canonicalEvent({
    type: 'identify',
    personKey,
    userId: anonymousId === personKey ? undefined : personKey,
    anonymousId,
    campaignId: undefined,
    data: { traits },
    eventTime: at,
    receivedAt: at,
    timestamp: at,
    door: 'identify',
  });

describe('declarations', () => {
  it('are stored, listed and redeclared', async () => {
    const repo = new TraitDeclarationsRepository(db, emulators.names.tables.traits);
    const now = new Date();
    expect((await repo.put('plan', { type: 'string', pii: 'none', purpose: 'analytics' }, now)).created).toBe(
      true,
    );
    expect((await repo.put('plan', { type: 'string', pii: 'none', purpose: 'marketing' }, now)).created).toBe(
      false,
    );
    expect((await repo.byName()).get('plan')).toMatchObject({ name: 'plan', purpose: 'marketing' });
  });
});

describe('traits through the consumer', () => {
  it('sets traits on the person, once, latest value winning; an identify is no engagement', async () => {
    const first = records([setTraits('u-t1', { plan: 'trial', seats: 2 }, '2026-06-01T00:00:00.000Z')]);
    await applyBatch(first, deps);
    await applyBatch(first, deps); // redelivered
    await applyBatch(records([setTraits('u-t1', { plan: 'pro' }, '2026-06-02T00:00:00.000Z')]), deps);
    await applyBatch(records([setTraits('u-t1', { plan: 'stale' }, '2026-05-01T00:00:00.000Z')]), deps);
    expect(await traitsOf('u-t1')).toEqual({ plan: 'pro', seats: 2 });
    const item = (
      await db.send(new GetCommand({ TableName: emulators.names.tables.users, Key: personItemKey('u-t1') }))
    ).Item;
    expect(item?.counts).toEqual({});
    // Retention runs from the last trait write when there is no event.
    expect(item?.expiresAt).toBeGreaterThan(Date.parse('2026-06-02') / 1000);
  });

  it("a merge keeps the user's value and brings the anonymous profile's other traits", async () => {
    await applyBatch(records([setTraits('u-t2', { plan: 'pro' }, '2026-06-01T00:00:00.000Z')]), deps);
    await applyBatch(
      records([
        setTraits('web-t2', { plan: 'free', lifecycle: 'trial' }, '2026-06-03T00:00:00.000Z', 'web-t2'),
      ]),
      deps,
    );
    await applyBatch(
      records([
        canonicalEvent({
          type: 'identify',
          personKey: 'u-t2',
          userId: 'u-t2',
          anonymousId: 'web-t2',
          campaignId: undefined,
        }),
      ]),
      deps,
    );
    expect(await traitsOf('u-t2')).toEqual({ plan: 'pro', lifecycle: 'trial' });
  });

  it('indexes hashed traits for matching, follows changes and merges, and erasure removes the index', async () => {
    const ann = traitHash(key, 'ann@example.com');
    const ann2 = traitHash(key, 'ann@work.example');
    await applyBatch(records([setTraits('u-t3', { email: ann }, '2026-06-01T00:00:00.000Z')]), deps);
    expect(await people.findByMatch('email', ann)).toEqual(['u-t3']);
    await applyBatch(records([setTraits('u-t3', { email: ann2 }, '2026-06-02T00:00:00.000Z')]), deps);
    expect(await people.findByMatch('email', ann)).toEqual([]);
    expect(await people.findByMatch('email', ann2)).toEqual(['u-t3']);

    // An anonymous profile's e-mail, merged into a user: the user is found.
    const bob = traitHash(key, 'bob@example.com');
    await applyBatch(
      records([setTraits('web-t4', { email: bob }, '2026-06-01T00:00:00.000Z', 'web-t4')]),
      deps,
    );
    await applyBatch(
      records([
        canonicalEvent({
          type: 'identify',
          personKey: 'u-t4',
          userId: 'u-t4',
          anonymousId: 'web-t4',
          campaignId: undefined,
        }),
      ]),
      deps,
    );
    expect(await people.findByMatch('email', bob)).toEqual(['u-t4']);

    const store = new ProfilePersonalData(db, emulators.names.tables.users);
    const exported = JSON.stringify(await store.export(['u-t3']));
    expect(exported).toContain(ann2);
    expect(exported).toContain(`match#email#${ann2}`);
    await store.erase(['u-t3']);
    expect(await store.export(['u-t3'])).toEqual([]);
    const left = await db.send(
      new GetCommand({
        TableName: emulators.names.tables.users,
        Key: { pk: `match#email#${ann2}`, sk: 'u-t3' },
      }),
    );
    expect(left.Item).toBeUndefined();
  });
});
