/**
 * Person items against dynalite: maps keyed by client data round-trip through the SDK's
 * marshalling, `__proto__` included, and items stored before keep reading the same.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadedMapKey,
  PeopleRepository,
  personItemKey,
  storedMapKey,
} from '../../functions/adapters/people-repository';
import { emptyPerson, judgeAndApply, padSequence, type StreamEvent } from '../../functions/core/person';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { canonicalEvent, SHARD, sequenceNumber } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table: string;
let repo: PeopleRepository;
/** Read as a key of a map, never as the accessor. */
const PROTO = '__proto__';
const now = new Date();

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  table = emulators.names.tables.users;
  repo = new PeopleRepository(db, table, () => now);
});
afterAll(() => emulators.close());

const CAMPAIGNS = ['__proto__', '__proto__~', 'constructor', 'toString', 'spring-sale'];

const record = (i: number, campaignId: string, personKey: string): StreamEvent => ({
  shardId: SHARD,
  seq: padSequence(sequenceNumber(i)),
  event: canonicalEvent({
    personKey,
    userId: personKey,
    type: 'conversion',
    campaignId,
    eventTime: new Date(now.getTime() - 60_000 + i * 1000).toISOString(),
    data: { value: 1, currency: i === 0 ? '__proto__' : 'EUR' },
  }),
});

describe('person items', () => {
  it('keep campaign ids and currencies named like prototype members through save and load', async () => {
    const key = 'proto-person';
    const judged = judgeAndApply(
      emptyPerson(key),
      CAMPAIGNS.map((c, i) => record(i, c, key)),
      now,
    );
    const stats = judged.next ?? emptyPerson(key);
    expect((await repo.save(stats, 0)).ok).toBe(true);
    const loaded = (await repo.load([key])).people.get(key);
    expect(loaded?.version).toBe(1);
    expect(Object.keys(loaded?.stats.campaigns ?? {}).sort()).toEqual([...CAMPAIGNS].sort());
    expect(loaded?.stats.campaigns).toEqual(stats.campaigns);
    expect(loaded?.stats.conversions.value[PROTO]).toBe(1);
    expect(loaded?.stats.conversions.value.EUR).toBe(4);
    expect(loaded?.stats.counts).toEqual(stats.counts);

    // A later batch on the loaded state keeps them, and saves again.
    const again = judgeAndApply(loaded?.stats ?? emptyPerson(key), [record(10, '__proto__', key)], now).next;
    expect((await repo.save(again ?? stats, 1)).ok).toBe(true);
    const reloaded = (await repo.load([key])).people.get(key);
    expect(reloaded?.stats.campaigns[PROTO]).toBe(again?.campaigns[PROTO]);
    expect(Object.keys(reloaded?.stats.campaigns ?? {})).toHaveLength(CAMPAIGNS.length);
  });

  it('read items stored before the key escaping as they were', async () => {
    const key = 'old-person';
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...personItemKey(key),
          personKey: key,
          ver: 3,
          counts: { click: 2 },
          days: { '2026-06-01': { click: 2 } },
          campaigns: { 'spring-sale': '2026-06-01T10:00:00.000Z', summer: '2026-06-01T11:00:00.000Z' },
          conversions: { count: 0, value: {} },
          cp: {},
          experiments: {},
          dedup: {},
          channels: ['ios'],
          merged: [],
        },
      }),
    );
    const loaded = (await repo.load([key])).people.get(key);
    expect(loaded?.stats.campaigns).toEqual({
      'spring-sale': '2026-06-01T10:00:00.000Z',
      summer: '2026-06-01T11:00:00.000Z',
    });
    expect(loaded?.stats.days['2026-06-01']?.click).toBe(2);
    const raw = await db.send(new GetCommand({ TableName: table, Key: personItemKey('proto-person') }));
    expect(Object.keys(raw.Item?.campaigns ?? {})).toContain('__proto__~');
  });

  it('escape only keys that look like __proto__, as a bijection', () => {
    for (const k of ['__proto__', '__proto__~', '__proto__~~', 'a', '~', '__proto', 'x__proto__'])
      expect(loadedMapKey(storedMapKey(k))).toBe(k);
    expect(storedMapKey('spring-sale')).toBe('spring-sale');
    expect(new Set(['__proto__', '__proto__~'].map(storedMapKey)).size).toBe(2);
  });
});
