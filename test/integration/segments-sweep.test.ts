/**
 * The segments sweep against dynalite: a resumable backfill over the users table, due checks found
 * through the sparse index, merged and vanished persons, and a person whose stats change while
 * the sweep evaluates them.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackfillJob } from '../../functions/adapters/backfill-jobs-repository';
import { IdentityReader } from '../../functions/adapters/identity-reader';
import { PeopleRepository, type StoredPerson } from '../../functions/adapters/people-repository';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import { emptyPerson, type PersonStats } from '../../functions/core/person';
import { parseRuleBody } from '../../functions/core/rules';
import {
  advanceBackfills,
  evaluatePersons,
  type SweepDeps,
  sweepDueChecks,
} from '../../functions/segments/sweeper';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let deps: SweepDeps;
let tags: TagsRepository;
let people: PeopleRepository;

const DAY = 86_400_000;
const now = new Date('2026-06-10T15:30:00.000Z');
const day = (offset: number) => new Date(now.getTime() + offset * DAY).toISOString().slice(0, 10);

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const usersTable = emulators.names.tables.users;
  tags = new TagsRepository(db, emulators.names.tables.tags);
  // Stats expire by the real clock; these are stamped in 2026, so pin the repository's clock.
  people = new PeopleRepository(db, usersTable, () => now);
  deps = {
    tags,
    people,
    identity: new IdentityReader(db, usersTable),
    pageSize: 4,
    pagesPerRun: 1,
    backfillSegments: 3,
  };
});
afterAll(() => emulators.close());

const viewer = (personKey: string, playsToday: number, extra: Partial<PersonStats> = {}): PersonStats => ({
  ...emptyPerson(personKey),
  counts: { 'video-play': playsToday },
  days: { [day(-1)]: { 'video-play': playsToday } },
  lastSeen: `${day(-1)}T10:00:00.000Z`,
  firstSeen: `${day(-1)}T10:00:00.000Z`,
  ...extra,
});

const putRule = async (ruleId: string, tag: string) => {
  const { rule } = await tags.putRule(
    ruleId,
    parseRuleBody({ tag, when: { type: 'video-play', atLeast: 3, withinDays: 2 } }),
    now,
  );
  await tags.startBackfill(ruleId, rule.hash, now);
  return rule;
};

const tagged = async (keys: readonly string[], tag: string) =>
  (
    await Promise.all(
      keys.map(async (k) => ((await tags.personTags(k)).some((t) => t.tag === tag) ? [k] : [])),
    )
  ).flat();

describe('backfill', () => {
  it('scans everyone already seen in parallel segments, resuming each where it stopped', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `bf-${i}`);
    for (const [i, k] of keys.entries()) await people.save(viewer(k, i % 3 === 0 ? 5 : 1), 0);
    // Identity items share the users table: the backfill reads person stats only.
    await db.send(
      new PutCommand({
        TableName: emulators.names.tables.users,
        Item: { pk: 'links#bf-0', sk: 'anon-bf-0', anonymousId: 'anon-bf-0', linkedAt: now.toISOString() },
      }),
    );
    await putRule('bf-rule', 'bf_viewer');

    const first = await advanceBackfills(deps, now);
    expect(first.finished).toEqual([]);
    const job = (await tags.backfills(['bf-rule'])).get('bf-rule');
    expect(job).toMatchObject({ status: 'running' });
    expect(job?.processed).toBe(first.persons);
    // Each of the 3 segments moved one page on, and has its own cursor.
    const segments = await tags.openBackfillSegments(job as BackfillJob, 3, now);
    expect(segments?.map((s) => s.segment)).toEqual([0, 1, 2]);
    expect(segments?.every((s) => typeof s.cursor === 'string' || s.done)).toBe(true);

    let runs = 1;
    while ((await tags.openBackfills()).some((j) => j.ruleId === 'bf-rule')) {
      await advanceBackfills(deps, now);
      if (++runs > 50) throw new Error('the backfill does not finish');
    }
    expect(runs).toBeGreaterThan(1);
    const done = (await tags.backfills(['bf-rule'])).get('bf-rule');
    expect(done).toMatchObject({ status: 'done', finishedAt: expect.any(String) });
    expect(await tagged(keys, 'bf_viewer')).toEqual(keys.filter((_, i) => i % 3 === 0));
    expect(await tags.segmentSize('bf_viewer')).toBe(10);
    // A job already done does nothing on the next run.
    expect((await advanceBackfills(deps, now)).persons).toBe(0);
  });

  it('leaves out merged anonymous profiles', async () => {
    await people.save(viewer('anon-m1', 9, { mergedInto: 'user-m1' }), 0);
    await people.save(viewer('anon-m2', 9), 0);
    await db.send(
      new PutCommand({
        TableName: emulators.names.tables.users,
        Item: {
          pk: 'alias#anon-m2',
          sk: 'link',
          anonymousId: 'anon-m2',
          userId: 'user-m2',
          linkedAt: now.toISOString(),
        },
      }),
    );
    await people.save(viewer('user-m2', 9), 0);
    const rule = await putRule('m-rule', 'm_viewer');
    await evaluatePersons(deps, new Map(['anon-m1', 'anon-m2', 'user-m2'].map((k) => [k, [rule]])), now);
    expect(await tagged(['anon-m1', 'anon-m2', 'user-m2'], 'm_viewer')).toEqual(['user-m2']);
  });
});

/** Every person key of the users table, by a plain sequential Scan. */
const everyPersonKey = async (): Promise<string[]> => {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await people.scanPersonKeys(cursor, 100);
    keys.push(...page.personKeys);
    cursor = page.next;
  } while (cursor);
  return keys;
};

describe('parallel backfill', () => {
  it('lets overlapping runs share the segments: each page counted once, everyone evaluated', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `par-${i}`);
    await Promise.all(keys.map((k, i) => people.save(viewer(k, i % 4 === 0 ? 5 : 1), 0)));
    await putRule('par-rule', 'par_viewer');
    const parallel = { ...deps, backfillSegments: 4, pageSize: 5, pagesPerRun: 100 };
    // Two runs at once (a long run and the next minute's): a segment's page moves on once.
    const [a, b] = await Promise.all([advanceBackfills(parallel, now), advanceBackfills(parallel, now)]);
    // (Jobs of the tests before finish too.) This one finishes once.
    expect([...a.finished, ...b.finished].filter((r) => r === 'par-rule')).toEqual(['par-rule']);
    const job = (await tags.backfills(['par-rule'])).get('par-rule');
    expect(job).toMatchObject({ status: 'done', finishedAt: expect.any(String) });
    const everyone = await everyPersonKey();
    expect(job?.processed).toBe(everyone.length);
    expect(await tagged(keys, 'par_viewer')).toEqual(keys.filter((_, i) => i % 4 === 0));
    // The persons of the tests before are evaluated too (10 of them qualify).
    expect(await tags.segmentSize('par_viewer')).toBe((await tagged(everyone, 'par_viewer')).length);
    expect(await tags.segmentSize('par_viewer')).toBeGreaterThan(10);
  });

  it('stops at the deadline, and a replaced job is left alone', async () => {
    await putRule('late-rule', 'late_viewer');
    const passed = await advanceBackfills(deps, now, Date.now() - 1);
    expect(passed.persons).toBe(0);
    const job = (await tags.backfills(['late-rule'])).get('late-rule') as BackfillJob;
    expect(job).toMatchObject({ status: 'pending', processed: 0 });
    // The run opened the job's segments (3 here); none moved. Opening again keeps them.
    expect(await tags.openBackfillSegments(job, 2, now)).toEqual(
      [0, 1, 2].map((segment) => ({ segment, done: false })),
    );
    // A newer version of the rule replaces the job: the old one's segments cannot move.
    await tags.startBackfill('late-rule', 'another-hash', now);
    expect(await tags.openBackfillSegments(job, 2, now)).toBeUndefined();
    expect(await tags.advanceBackfillSegment(job, 0, undefined, undefined, 5, now)).toBeUndefined();
  });
});

describe('due checks', () => {
  it('withdraw a tag when its window passes, found through the index, not a scan', async () => {
    const rule = await putRule('due-rule', 'due_viewer');
    await people.save(viewer('due-1', 5), 0);
    await evaluatePersons(deps, new Map([['due-1', [rule]]]), now);
    expect(await tagged(['due-1'], 'due_viewer')).toEqual(['due-1']);

    // Not due yet: nothing changes.
    const early = await sweepDueChecks(deps, new Date(`${day(0)}T23:59:59.000Z`));
    expect(early.checks).toBe(0);
    // The plays of yesterday leave the 2-day window at 00:00 UTC tomorrow.
    const due = await sweepDueChecks(deps, new Date(`${day(1)}T00:00:30.000Z`));
    // (the other tests' viewers played yesterday too: their checks are due as well)
    expect(due.checks).toBeGreaterThanOrEqual(1);
    expect(await tagged(['due-1'], 'due_viewer')).toEqual([]);
    expect(await tags.segmentSize('due_viewer')).toBe(0);
    expect((await sweepDueChecks(deps, new Date(`${day(1)}T00:01:30.000Z`))).checks).toBe(0);
  });

  it('evaluates again a person whose stats change while the sweep applies an outcome', async () => {
    const rule = await putRule('race-rule', 'race_viewer');
    // The first read sees 5 plays; by the time the outcome is written the consumer has removed
    // none but the stats moved on to a version with 1 play (say, a correction): the newest wins.
    const reads: StoredPerson[] = [
      { stats: viewer('race-1', 5), version: 1 },
      { stats: viewer('race-1', 1), version: 2 },
    ];
    let calls = 0;
    const racing = {
      load: async (keys: readonly string[]) => {
        const v = reads[Math.min(calls++, reads.length - 1)] as StoredPerson;
        return { people: new Map(keys.map((k) => [k, v])), consumed: 0 };
      },
    } as unknown as PeopleRepository;
    await evaluatePersons({ ...deps, people: racing }, new Map([['race-1', [rule]]]), now);
    expect(calls).toBeGreaterThan(2);
    expect(await tagged(['race-1'], 'race_viewer')).toEqual([]);
  });
});
