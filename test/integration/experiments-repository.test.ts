import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cached } from '../../functions/adapters/cached';
import {
  ASSIGNMENT_TTL_DAYS,
  assignmentKey,
  definitionKey,
  ExperimentsRepository,
} from '../../functions/adapters/experiments-repository';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import { foldCounters } from '../../functions/core/campaign-counters';
import { applyUpdate, experimentBodySchema, type StoredExperiment } from '../../functions/core/experiments';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let repo: ExperimentsRepository;
let experimentsTable: string;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  experimentsTable = emulators.names.tables.experiments;
  repo = new ExperimentsRepository(db, experimentsTable);
});
afterAll(() => emulators.close());

const now = new Date('2026-06-01T12:00:00.000Z');
const definition = (experimentId: string, over: Record<string, unknown> = {}): StoredExperiment =>
  applyUpdate(
    experimentId,
    undefined,
    experimentBodySchema.parse({
      placement: 'home_banner',
      status: 'draft',
      variants: [
        { id: 'A', weight: 1, content: { headline: 'Spring' } },
        { id: 'B', weight: 1, content: { headline: 'Spring, 20 % off' } },
      ],
      goal: { type: 'conversion' },
      ...over,
    }),
    [],
    now,
  );

describe('experiment definitions', () => {
  it('creates once, then updates only from the version it read', async () => {
    const first = definition('exp-def');
    expect(await repo.put(first, 0)).toBe(true);
    expect(await repo.put(first, 0)).toBe(false);
    expect(await repo.get('exp-def')).toEqual(first);

    const second = { ...first, status: 'running' as const, version: 2, startedAt: now.toISOString() };
    expect(await repo.put(second, 1)).toBe(true);
    // A writer that read version 1 too has lost the race.
    expect(await repo.put({ ...first, version: 2, coverage: 0.5 }, 1)).toBe(false);
    expect(await repo.get('exp-def')).toEqual(second);
    expect(await repo.get('exp-missing')).toBeUndefined();
  });

  it('keeps arbitrary JSON content exactly, and the goal as a plain attribute for the consumer', async () => {
    const content = {
      big: 1e21,
      precise: 0.1 + 0.2,
      empty: {},
      list: [1, 'two', null, { three: [] }],
      text: '',
      unicode: 'Fr\u00fchling \ud83c\udf38',
    };
    const x = definition('exp-json', {
      variants: [
        { id: 'A', weight: 1, content },
        { id: 'B', weight: 2, content: {} },
      ],
      goal: { type: 'custom', name: 'signup' },
    });
    expect(await repo.put(x, 0)).toBe(true);
    expect((await repo.get('exp-json'))?.variants[0]?.content).toEqual(content);
    const { Item } = await db.send(
      new GetCommand({ TableName: experimentsTable, Key: definitionKey('exp-json') }),
    );
    expect(Item).toMatchObject({
      goal: { type: 'custom', name: 'signup' },
      status: 'draft',
      placement: 'home_banner',
    });
  });

  it('lists every definition', async () => {
    await repo.put(definition('exp-list-1'), 0);
    await repo.put(definition('exp-list-2', { placement: 'footer' }), 0);
    const ids = (await repo.list()).map((e) => e.experimentId);
    expect(ids).toEqual(expect.arrayContaining(['exp-def', 'exp-json', 'exp-list-1', 'exp-list-2']));
  });
});

describe('assignments', () => {
  it('sticks to the first assignment', async () => {
    const first = await repo.assign('person-1', 'exp-a', 'B', now);
    expect(first).toMatchObject({ experimentId: 'exp-a', variant: 'B', assignedAt: now.toISOString() });
    expect(first.expiresAt).toBe(Math.floor(now.getTime() / 1000) + ASSIGNMENT_TTL_DAYS * 86_400);
    expect(await repo.assign('person-1', 'exp-a', 'A', new Date(now.getTime() + 1000))).toEqual(first);
    expect((await repo.assignments(['person-1', 'person-2'], 'exp-a', now)).get('person-1')).toEqual(first);
    expect((await repo.assignments(['person-2'], 'exp-a', now)).size).toBe(0);
  });

  it('keeps exactly one assignment under concurrency: every racer sees the winner', async () => {
    const racers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => repo.assign('person-race', 'exp-race', i % 2 ? 'A' : 'B', now)),
    );
    const winner = (await repo.assignments(['person-race'], 'exp-race', now)).get('person-race');
    expect(winner).toBeDefined();
    for (const r of racers) expect(r).toEqual(winner);
  });

  it('treats an expired assignment TTL has not deleted yet as absent', async () => {
    const key = assignmentKey('person-old', 'exp-a');
    await db.send(
      new PutCommand({
        TableName: experimentsTable,
        Item: {
          ...key,
          experimentId: 'exp-a',
          variant: 'A',
          assignedAt: '2024-01-01T00:00:00.000Z',
          expiresAt: 1,
        },
      }),
    );
    expect((await repo.assignments(['person-old'], 'exp-a', now)).size).toBe(0);
    expect(await repo.assign('person-old', 'exp-a', 'B', now)).toMatchObject({ variant: 'B' });
  });
});

describe('assignments as personal data', () => {
  it('carries them to another person without overriding theirs, and erases them', async () => {
    await repo.assign('carry-anon', 'exp-c1', 'B');
    await repo.assign('carry-anon', 'exp-c2', 'B');
    await repo.assign('carry-user', 'exp-c2', 'A');
    await repo.carryAssignments('carry-anon', 'carry-user');
    await repo.carryAssignments('carry-anon', 'carry-user'); // idempotent
    const carried = await repo.personAssignments('carry-user');
    expect(carried.map((a) => [a.experimentId, a.variant]).sort()).toEqual([
      ['exp-c1', 'B'],
      ['exp-c2', 'A'],
    ]);
    expect(await repo.eraseAssignments('carry-user')).toBe(2);
    expect(await repo.personAssignments('carry-user')).toEqual([]);
    expect(await repo.personAssignments('carry-anon')).toHaveLength(2);
  });
});

describe('definitions cache', () => {
  it('loads once per lifetime, and does not keep a failure', async () => {
    let t = 0;
    let loads = 0;
    let fail = false;
    const cache = new Cached(
      async () => {
        loads++;
        if (fail) throw new Error('table unavailable');
        return [definition(`exp-${loads}`)];
      },
      30_000,
      () => t,
    );
    expect((await cache.get())[0]?.experimentId).toBe('exp-1');
    t = 29_999;
    expect((await cache.get())[0]?.experimentId).toBe('exp-1');
    expect(loads).toBe(1);
    t = 30_000;
    fail = true;
    await expect(cache.get()).rejects.toThrow('table unavailable');
    fail = false;
    expect((await cache.get())[0]?.experimentId).toBe('exp-3');
  });
});

describe('experiment results', () => {
  it('sums exposures and conversions per variant over the shards that counted them', async () => {
    const metrics = new MetricsRepository(db, emulators.names.tables.metrics);
    const effect = (kind: 'exposure' | 'conversion', variant: string) => ({
      kind,
      experimentId: 'exp-r',
      variant,
    });
    const record = (seq: number, effects: ReturnType<typeof effect>[]) => ({
      seq: String(seq).padStart(64, '0'),
      // An experiment effect rides on any record; identify records count toward no campaign.
      event: { type: 'identify', personKey: `p${seq}` } as never,
      effects,
    });
    const apply = async (shardId: string, records: ReturnType<typeof record>[]) => {
      for (const delta of foldCounters(records)) {
        await metrics.register({ kind: 'experiment', id: 'exp-r' }, shardId, '2026-06-01T00:00:00Z');
        await metrics.apply(shardId, delta);
      }
    };
    await apply('shardId-000', [
      ...Array.from({ length: 10 }, (_, i) => record(i + 1, [effect('exposure', 'A')])),
      ...Array.from({ length: 12 }, (_, i) => record(i + 20, [effect('exposure', 'B')])),
      record(40, [effect('conversion', 'A')]),
      ...Array.from({ length: 3 }, (_, i) => record(i + 41, [effect('conversion', 'B')])),
    ]);
    await apply(
      'shardId-001',
      Array.from({ length: 5 }, (_, i) => record(i + 1, [effect('exposure', 'A')])),
    );

    expect(Object.fromEntries(await metrics.experimentCounts('exp-r'))).toEqual({
      A: { exposures: 15, conversions: 1 },
      B: { exposures: 12, conversions: 3 },
    });
    expect((await metrics.experimentCounts('exp-none')).size).toBe(0);
  });
});
