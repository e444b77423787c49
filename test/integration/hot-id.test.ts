/**
 * A very active id — a bot, a kiosk, a server source with a fixed id — against dynalite: 36,000
 * events from one userId, past the 400 KB a person item would need for its dedup state, then
 * client retries of its oldest events. Every event counts exactly once, every retry is a
 * duplicate, the person item stays bounded, and its writes stay under one unit per event.
 */
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import {
  PeopleRepository,
  ProfilePersonalData,
  personItemKey,
} from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { applyBatch, type BatchDeps } from '../../functions/aggregate/apply-batch';
import type { CanonicalEvent } from '../../functions/core/events';
import { INLINE_DEDUP_MAX } from '../../functions/core/person';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { dynamoItemSize } from '../support/item-size';
import { canonicalEvent, toRecord } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let deps: BatchDeps;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  deps = {
    people: new PeopleRepository(db, emulators.names.tables.users),
    counters: new MetricsRepository(db, emulators.names.tables.metrics),
    quarantine: new QuarantineRepository(db, emulators.names.tables.quarantine),
    // Fail the test on any caught error, rather than let the batch retry quietly.
    onError: (failure) => {
      throw failure.error;
    },
  };
});
afterAll(() => emulators.close());

const EVENTS = 36_000;
const BATCH = 500;
const itemBytes = (item: Record<string, unknown>) => dynamoItemSize(item);

describe('a very active id', () => {
  it('counts 36,000 events exactly, recognises retries of the oldest, and keeps its item bounded', async () => {
    const bot = 'kiosk-7';
    const events: CanonicalEvent[] = Array.from({ length: EVENTS }, () =>
      canonicalEvent({ personKey: bot, userId: bot, campaignId: 'kiosk', type: 'view' }),
    );
    // The oldest 500 events sent again by the client (new records, same event ids).
    const retries = events.slice(0, BATCH).map((e) => ({ ...e }));
    const stream = [...events, ...retries];
    let writeUnits = 0;
    let duplicates = 0;
    let applied = 0;
    let largest = 0;
    for (let i = 0; i < stream.length; i += BATCH) {
      const outcome = await applyBatch(
        stream.slice(i, i + BATCH).map((e, j) => toRecord(e, i + j)),
        deps,
      );
      expect(outcome.failedFrom).toBeUndefined();
      writeUnits += outcome.writeUnits;
      duplicates += outcome.duplicates;
      applied += outcome.applied;
      const { Item } = await db.send(
        new GetCommand({ TableName: emulators.names.tables.users, Key: personItemKey(bot) }),
      );
      largest = Math.max(largest, itemBytes(Item ?? {}));
    }
    expect(applied).toBe(EVENTS);
    expect(duplicates).toBe(BATCH);
    const people = (await deps.people.load([bot])).people.get(bot);
    expect(people?.stats.counts).toEqual({ view: EVENTS });
    // 12 bytes of dedup state an event would have made the item 432 KB: it stays a small fraction.
    expect(EVENTS * 12).toBeGreaterThan(400 * 1024);
    expect(largest).toBeLessThan(64 * 1024);
    expect(people?.stats.dedupPages.length).toBeGreaterThanOrEqual(
      Math.floor(EVENTS / (INLINE_DEDUP_MAX + BATCH)),
    );
    // DynamoDB's own figure (ConsumedCapacity), every write the batches made.
    expect(writeUnits / EVENTS).toBeLessThan(1);
    const totals = await new MetricsRepository(db, emulators.names.tables.metrics).totals('kiosk', [
      'shardId-000000000000',
    ]);
    expect(totals.n).toBe(EVENTS);
  }, 240_000);

  it('erases and exports its sealed dedup pages with the person', async () => {
    const profile = new ProfilePersonalData(db, emulators.names.tables.users);
    const pages = async () =>
      (
        await db.send(
          new QueryCommand({
            TableName: emulators.names.tables.users,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'dedup#kiosk-7' },
          }),
        )
      ).Items ?? [];
    expect((await pages()).length).toBeGreaterThan(0);
    expect((await profile.export(['kiosk-7'])).length).toBeGreaterThan((await pages()).length);
    await profile.erase(['kiosk-7']);
    expect(await pages()).toEqual([]);
  });

  it('finds retries in every sealed page, even when the page cache is evicted mid-lookup', async () => {
    // A cache of two pages: a person with three makes the lookup evict what it just found.
    const people = new PeopleRepository(db, emulators.names.tables.users, () => new Date(), 2);
    const small = { ...deps, people };
    const id = 'busy-tablet';
    const events: CanonicalEvent[] = Array.from({ length: 3 * (INLINE_DEDUP_MAX + BATCH) }, () =>
      canonicalEvent({ personKey: id, userId: id, campaignId: 'tablet', type: 'click' }),
    );
    for (let i = 0; i < events.length; i += BATCH)
      await applyBatch(
        events.slice(i, i + BATCH).map((e, j) => toRecord(e, 200_000 + i + j)),
        small,
      );
    const stats = (await people.load([id])).people.get(id)?.stats;
    expect(stats?.dedupPages.length).toBeGreaterThanOrEqual(3);
    // Retries of the first event of every batch: each sits in some sealed page or inline.
    const retries = events.filter((_, i) => i % BATCH === 0).map((e) => ({ ...e }));
    // The same container: its cache holds some of the pages, the lookup reads the others.
    const outcome = await applyBatch(
      retries.map((e, j) => toRecord(e, 300_000 + j)),
      small,
    );
    expect(outcome.duplicates).toBe(retries.length);
    expect(outcome.applied).toBe(0);
  }, 120_000);
});
