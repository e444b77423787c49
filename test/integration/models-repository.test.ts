/**
 * Predictions' storage against dynalite: model definitions and numbered versions, a run's rows
 * round-tripping as Float64 bytes (every segment, every chunk), publication, requests answered
 * by a run, and scores on the person item written and cleared with a version check that a
 * consumer holding the person would notice.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelsRepository } from '../../functions/adapters/models-repository';
import { PeopleRepository } from '../../functions/adapters/people-repository';
import { parseModelBody } from '../../functions/core/models/definition';
import { FEATURE_NAMES } from '../../functions/core/models/features';
import { emptyPerson } from '../../functions/core/person';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let models: ModelsRepository;
let people: PeopleRepository;
const now = new Date('2026-03-01T12:00:00Z');

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  const db = DynamoDBDocumentClient.from(emulators.dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  models = new ModelsRepository(db, emulators.names.tables.models);
  people = new PeopleRepository(db, emulators.names.tables.users, () => now);
});
afterAll(() => emulators.close());

const definition = parseModelBody('buyers', { kind: 'propensity', target: { type: 'conversion' } }, now);

describe('models table', () => {
  it('declares, numbers versions, publishes, and answers a request once', async () => {
    expect(await models.put(definition)).toEqual({ created: true });
    expect(await models.put({ ...definition, horizonDays: 7 })).toEqual({ created: false });
    expect(await models.request('nobody', now.toISOString())).toBe(false);
    expect(await models.request('buyers', now.toISOString())).toBe(true);
    const base = {
      name: 'buyers',
      kind: 'propensity' as const,
      trainedAt: now.toISOString(),
      cutoff: '2026-02-21',
      horizonDays: 7,
      trainingRows: 10,
      heldOutRows: 2,
      features: FEATURE_NAMES,
      reference: [0.1, 0.5],
      published: false,
      trainingMs: 1,
    };
    const refused = await models.addVersion({
      ...base,
      gate: { passed: false, reasons: ['AUC 0.5 below 0.6'] },
    });
    const passed = await models.addVersion({ ...base, gate: { passed: true, reasons: [] } });
    expect([refused.version, passed.version]).toEqual([1, 2]);
    expect(await models.published()).toEqual([]);
    await models.publish('buyers', 2);
    const [current] = await models.published();
    expect(current?.version).toMatchObject({ version: 2, published: true });
    expect(current?.definition.horizonDays).toBe(7);
    expect((await models.versions('buyers')).map((v) => v.version)).toEqual([2, 1]);

    const summary = {
      runId: 'r1',
      startedAt: now.toISOString(),
      finishedAt: now.toISOString(),
      version: 2,
      published: true,
      reasons: [],
      scored: 0,
    };
    // A request made after the run started stays for the next run.
    await models.request('buyers', '2026-03-01T12:05:00.000Z');
    await models.finishRun('buyers', summary, now.toISOString());
    expect(await models.get('buyers')).toMatchObject({
      requestedAt: '2026-03-01T12:05:00.000Z',
      lastRun: summary,
    });
    await models.finishRun('buyers', summary, '2026-03-01T12:05:00.000Z');
    expect((await models.get('buyers'))?.requestedAt).toBeUndefined();
  });

  it("stores a run's rows by segment and chunk and reads them back exactly", async () => {
    const width = FEATURE_NAMES.length;
    const row = (i: number) => Float64Array.from({ length: width }, (_, j) => i + j / 7);
    const training = Array.from({ length: 2500 }, (_, i) => ({
      x: row(i),
      y: (i % 3 === 0 ? 1 : 0) as 0 | 1,
    }));
    const current = Array.from({ length: 1200 }, (_, i) => row(-i));
    await models.putRows('run-1', 0, { training: training.slice(0, 1500), current }, now);
    await models.putRows('run-1', 1, { training: training.slice(1500), current: [] }, now);
    const back = await models.rows('run-1');
    expect(back.training).toHaveLength(2500);
    expect(back.training.map((r) => [Array.from(r.x), r.y])).toEqual(
      training.map((r) => [Array.from(r.x), r.y]),
    );
    expect(back.current.map((r) => Array.from(r))).toEqual(current.map((r) => Array.from(r)));
  });
});

describe('scores on the person item', () => {
  it('are saved only at the version read, move the version on, and are cleared', async () => {
    const stats = { ...emptyPerson('p1'), lastSeen: now.toISOString() };
    expect((await people.save(stats, 0)).ok).toBe(true);
    const score = {
      version: 2,
      score: 0.7,
      percentile: 91,
      tags: ['likely_buyer'],
      scoredAt: now.toISOString(),
    };
    expect(await people.saveScores('p1', { buyers: score }, 0)).toBe(false);
    expect(await people.saveScores('p1', { buyers: score }, 1)).toBe(true);
    const loaded = (await people.load(['p1'])).people.get('p1');
    expect(loaded).toMatchObject({ version: 2, stats: { scores: { buyers: score } } });
    // A consumer that read version 1 loses its write and reloads: the scores are not overwritten.
    expect((await people.save(stats, 1)).ok).toBe(false);
    expect(await people.clearScores('p1')).toBe(true);
    expect(await people.clearScores('p1')).toBe(false);
    const cleared = (await people.load(['p1'])).people.get('p1');
    expect(cleared?.stats.scores).toBeUndefined();
    expect(cleared?.version).toBe(3);
  });
});
