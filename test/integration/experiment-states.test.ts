/**
 * A person exposed to thousands of experiments (a QA device, a bot) against dynalite: without a
 * bound its experiment state alone passes DynamoDB's 400 KB item limit; with experiment-states.ts
 * the item stays small, every exposure still counts once, and open states still convert.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeopleRepository, personItemKey } from '../../functions/adapters/people-repository';
import { MAX_EXPERIMENT_STATES } from '../../functions/core/experiment-states';
import {
  type Effect,
  emptyPerson,
  judgeAndApply,
  type PersonStats,
  padSequence,
  type StreamEvent,
} from '../../functions/core/person';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { dynamoItemSize } from '../support/item-size';
import { canonicalEvent, SHARD, sequenceNumber } from '../support/stream-records';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table: string;
const start = Date.parse('2026-03-01T00:00:00Z');
let clock = new Date(start);
let repo: PeopleRepository;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  table = emulators.names.tables.users;
  repo = new PeopleRepository(db, table, () => clock);
});
afterAll(() => emulators.close());

const PERSON = 'qa-device-1';
const EXPERIMENTS = 3000;
let seq = 0;

const exposure = (i: number): StreamEvent => ({
  shardId: SHARD,
  seq: padSequence(sequenceNumber(++seq)),
  event: canonicalEvent({
    personKey: PERSON,
    userId: PERSON,
    type: 'exposure',
    experimentId: `checkout-experiment-number-${i}`,
    variant: i % 2 ? 'treatment' : 'control',
    eventTime: clock.toISOString(),
    data: { goal: { type: 'conversion' } },
  }),
});
const conversion = (): StreamEvent => ({
  shardId: SHARD,
  seq: padSequence(sequenceNumber(++seq)),
  event: canonicalEvent({
    personKey: PERSON,
    userId: PERSON,
    type: 'conversion',
    eventTime: new Date(clock.getTime() + 60_000).toISOString(),
    data: { value: 10, currency: 'EUR' },
  }),
});

/** Fold records through load, judge and save, as the consumer does; the effects by kind. */
const fold = async (records: StreamEvent[]) => {
  const effects: Effect[] = [];
  for (let i = 0; i < records.length; i += 500) {
    const loaded = (await repo.load([PERSON])).people.get(PERSON);
    const judged = judgeAndApply(loaded?.stats ?? emptyPerson(PERSON), records.slice(i, i + 500), clock);
    effects.push(...judged.effects.flat());
    if (judged.next) expect((await repo.save(judged.next, loaded?.version ?? 0)).ok).toBe(true);
  }
  const kinds = { exposure: 0, conversion: 0, metric: 0, touch: 0 };
  for (const e of effects) kinds[e.kind]++;
  return kinds;
};

const stored = async () =>
  (await db.send(new GetCommand({ TableName: table, Key: personItemKey(PERSON), ConsistentRead: true })))
    .Item as Record<string, unknown>;

describe('a person exposed to thousands of experiments', () => {
  it('keeps a bounded item past the 400 KB an unbounded state would need, counting each exposure once', async () => {
    const counted = await fold(Array.from({ length: EXPERIMENTS }, (_, i) => exposure(i)));
    expect(counted.exposure).toBe(EXPERIMENTS);

    const item = await stored();
    const loaded = (await repo.load([PERSON])).people.get(PERSON)?.stats as PersonStats;
    expect(Object.keys(loaded.experiments)).toHaveLength(MAX_EXPERIMENT_STATES);
    expect(loaded.settledExperiments.byteLength).toBe(8 * (EXPERIMENTS - MAX_EXPERIMENT_STATES));
    expect(dynamoItemSize(item)).toBeLessThan(100_000);

    // The same state unbounded: one state per experiment. DynamoDB refuses the item.
    const sample = Object.entries(item.experiments as Record<string, unknown>)[0] as [string, unknown];
    const unbounded = Object.fromEntries(
      Array.from({ length: EXPERIMENTS }, (_, i) => [`checkout-experiment-number-${i}`, sample[1]]),
    );
    expect(dynamoItemSize({ ...item, experiments: unbounded })).toBeGreaterThan(400 * 1024);
    await expect(
      db.send(
        new PutCommand({
          TableName: table,
          Item: { ...item, pk: 'probe#unbounded', experiments: unbounded },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });

    // Exposed again to every one of them: none counts a second time, settled or not.
    expect((await fold(Array.from({ length: EXPERIMENTS }, (_, i) => exposure(i)))).exposure).toBe(0);
  });

  it('converts the open states, then settles them a dedup window later: still counted once', async () => {
    expect(await fold([conversion()])).toMatchObject({ exposure: 0, conversion: MAX_EXPERIMENT_STATES });
    clock = new Date(start + 8 * 86_400_000);
    expect(await fold([conversion()])).toMatchObject({ exposure: 0, conversion: 0 });
    const loaded = (await repo.load([PERSON])).people.get(PERSON)?.stats as PersonStats;
    expect(Object.keys(loaded.experiments)).toHaveLength(0);
    expect(loaded.settledExperiments.byteLength).toBe(8 * EXPERIMENTS);
    expect((await fold([exposure(7), exposure(EXPERIMENTS - 1)])).exposure).toBe(0);
    // A new experiment still counts.
    expect((await fold([exposure(EXPERIMENTS + 1)])).exposure).toBe(1);
  });
});
