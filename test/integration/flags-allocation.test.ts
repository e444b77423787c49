/** Flags and bandit allocations in the experiments table, against dynalite. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentsRepository } from '../../functions/adapters/experiments-repository';
import { FlagsRepository } from '../../functions/adapters/flags-repository';
import { applyUpdate, experimentBodySchema } from '../../functions/core/experiments';
import { flagBodySchema, type StoredFlag } from '../../functions/core/flags';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let experiments: ExperimentsRepository;
let flags: FlagsRepository;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  const db = DynamoDBDocumentClient.from(emulators.dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  experiments = new ExperimentsRepository(db, emulators.names.tables.experiments);
  flags = new FlagsRepository(db, emulators.names.tables.experiments);
});
afterAll(() => emulators.close());

const now = new Date('2026-11-29T12:00:00.000Z');
const TWO_ARMS = [
  { id: 'a', weight: 1, content: {} },
  { id: 'b', weight: 1, content: {} },
];

describe('flags', () => {
  it('stores any JSON value unchanged, updates only from the version read, lists apart from experiments', async () => {
    const flag: StoredFlag = {
      ...flagBodySchema.parse({
        defaultValue: { limits: [1, 2.5, 1e21], empty: {}, nested: { off: null } },
        rules: [{ targeting: { tagsAny: ['staff'] }, rollout: 0.5, value: 'beta' }],
      }),
      key: 'checkout.v2',
      version: 1,
      updatedAt: now.toISOString(),
    };
    expect(await flags.put(flag, 0)).toBe(true);
    expect(await flags.put(flag, 0)).toBe(false);
    expect(await flags.get('checkout.v2')).toEqual(flag);
    expect(await flags.put({ ...flag, version: 2, enabled: false }, 1)).toBe(true);
    expect(await flags.put({ ...flag, version: 2 }, 1)).toBe(false);
    await experiments.put(
      applyUpdate(
        'exp-beside',
        undefined,
        experimentBodySchema.parse({
          placement: 'p',
          status: 'draft',
          goal: { type: 'click' },
          variants: TWO_ARMS,
        }),
        [],
        now,
      ),
      0,
    );
    expect((await flags.list()).map((f) => [f.key, f.enabled])).toEqual([['checkout.v2', false]]);
    expect((await experiments.list()).map((e) => e.experimentId)).toEqual(['exp-beside']);
  });
});

describe('bandit allocations', () => {
  const bandit = (status: 'running' | 'stopped', current?: Parameters<typeof applyUpdate>[1]) =>
    applyUpdate(
      'exp-bandit',
      current,
      experimentBodySchema.parse({
        placement: 'checkout',
        status,
        mode: 'bandit',
        goal: { type: 'conversion' },
        variants: TWO_ARMS,
      }),
      [],
      now,
    );

  it('are written alone while running, read back with the definition, and kept by an admin save', async () => {
    const running = bandit('running');
    expect(await experiments.put(running, 0)).toBe(true);
    const allocation = { weights: [0.2, 0.8], probabilityBest: [0.1, 0.9], updatedAt: now.toISOString() };
    expect(await experiments.setAllocation('exp-bandit', allocation)).toBe(true);
    const read = await experiments.get('exp-bandit');
    expect(read?.allocation).toEqual(allocation);
    expect(read?.version).toBe(1);
    // An admin saving the definition again (read with the allocation) keeps it.
    const stopped = bandit('stopped', read);
    expect(await experiments.put(stopped, 1)).toBe(true);
    expect((await experiments.get('exp-bandit'))?.allocation).toEqual(allocation);
    // Stopped: the schedule's write is refused.
    expect(await experiments.setAllocation('exp-bandit', { ...allocation, weights: [0.5, 0.5] })).toBe(false);
    expect(await experiments.setAllocation('exp-none', allocation)).toBe(false);
  });
});
