/**
 * The tags repository against dynalite: manual and rule tags side by side, memberships and exact
 * segment sizes as people enter and leave, idempotent rule outcomes, and the sparse index the
 * sweep queries.
 */
import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import { CHECK_SHARDS, checkShardOf } from '../../functions/adapters/tags-table';
import { Problem } from '../../functions/core/problem';
import type { RuleOutcome } from '../../functions/core/rules';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table: string;
let repo: TagsRepository;
const now = new Date('2026-06-10T15:30:00.000Z');
let n = 0;
/** A fresh id per test, so tests share the table without seeing each other's people. */
const uid = (name: string) => `${name}-${++n}`;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  table = emulators.names.tables.tags;
  repo = new TagsRepository(db, table);
});
afterAll(() => emulators.close());

const members = async (tag: string) => {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await repo.segmentMembers(tag, 2, cursor);
    out.push(...page.items.map((m) => m.userId));
    cursor = page.nextCursor;
  } while (cursor);
  return out.sort();
};

const outcome = (ruleId: string, tag: string, holds: boolean, nextCheck?: string): RuleOutcome => ({
  rule: { ruleId, tag },
  holds,
  ...(nextCheck !== undefined && { nextCheck }),
});

const itemsOf = async (pk: string) =>
  ((await db.send(new ScanCommand({ TableName: table }))).Items ?? []).filter((i) => i.pk === pk);

describe('manual tags', () => {
  it('replace, add and remove, each tag keeping when it was set', async () => {
    const u = uid('ann');
    const first = await repo.replaceManualTags(u, ['b', 'a'], now);
    expect(first).toEqual([
      { tag: 'a', source: 'manual', setAt: now.toISOString() },
      { tag: 'b', source: 'manual', setAt: now.toISOString() },
    ]);
    const later = new Date(now.getTime() + 60_000);
    const added = await repo.addManualTags(u, ['c', 'a'], later);
    expect(added.map((t) => [t.tag, t.setAt])).toEqual([
      ['a', now.toISOString()],
      ['b', now.toISOString()],
      ['c', later.toISOString()],
    ]);
    const replaced = await repo.replaceManualTags(u, ['c', 'd'], later);
    expect(replaced.map((t) => t.tag)).toEqual(['c', 'd']);
    expect(await repo.removeManualTag(u, 'c')).toEqual([
      { tag: 'd', source: 'manual', setAt: later.toISOString() },
    ]);
    // Idempotent: removing again, or a tag never set, answers the same list.
    expect((await repo.removeManualTag(u, 'c')).map((t) => t.tag)).toEqual(['d']);
    expect((await repo.removeManualTag(u, 'zzz')).map((t) => t.tag)).toEqual(['d']);
    expect(await repo.replaceManualTags(u, [], later)).toEqual([]);
  });

  it('bounds the manual tags a person carries', async () => {
    const u = uid('max');
    await repo.replaceManualTags(
      u,
      Array.from({ length: 99 }, (_, i) => `t${i}`),
      now,
    );
    await expect(repo.addManualTags(u, ['x', 'y'], now)).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    await expect(repo.addManualTags(u, ['x', 't1'], now)).resolves.toHaveLength(100);
    await expect(repo.addManualTags(u, ['y'], now)).rejects.toBeInstanceOf(Problem);
  });

  it('never touches rule tags, and rules never touch manual ones', async () => {
    const u = uid('bo');
    const tag = uid('shared');
    await repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now);
    await repo.replaceManualTags(u, [tag], now);
    expect((await repo.personTags(u)).map((t) => t.source)).toEqual(['manual', 'rule:r1']);
    expect(await repo.segmentSize(tag)).toBe(1);
    expect((await repo.segmentMembers(tag, 10)).items).toEqual([
      { userId: u, sources: ['manual', 'rule:r1'] },
    ]);

    // The manual tag leaves: the rule's stays, and so does the membership.
    await repo.replaceManualTags(u, [], now);
    expect((await repo.personTags(u)).map((t) => t.source)).toEqual(['rule:r1']);
    expect(await repo.segmentSize(tag)).toBe(1);

    // Manual again, then the rule stops holding: the manual tag stays.
    await repo.addManualTags(u, [tag], now);
    await repo.applyRuleOutcomes(u, [outcome('r1', tag, false)], now);
    expect((await repo.personTags(u)).map((t) => t.source)).toEqual(['manual']);
    expect((await repo.segmentMembers(tag, 10)).items).toEqual([{ userId: u, sources: ['manual'] }]);
    await repo.removeManualTag(u, tag);
    expect(await repo.segmentSize(tag)).toBe(0);
    expect(await itemsOf(`segment#${tag}`)).toEqual([]);
  });
});

describe('memberships and sizes', () => {
  it('stay exact as people enter and leave, in any order, with repeats', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            who: fc.integer({ min: 0, max: 5 }),
            how: fc.constantFrom('manual', 'r1', 'r2'),
            on: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (steps) => {
          // A fresh segment and people per run: the table outlives runs.
          const tag = uid('seg');
          const truth = new Map<string, Set<string>>();
          for (const step of steps) {
            const { how, on } = step;
            const who = `${tag}-p${step.who}`;
            if (how === 'manual') {
              if (on) await repo.addManualTags(who, [tag], now);
              else await repo.removeManualTag(who, tag);
            } else await repo.applyRuleOutcomes(who, [outcome(how, tag, on)], now);
            const sources = truth.get(who) ?? new Set<string>();
            const source = how === 'manual' ? 'manual' : `rule:${how}`;
            if (on) sources.add(source);
            else sources.delete(source);
            truth.set(who, sources);
          }
          const expected = [...truth]
            .filter(([, s]) => s.size > 0)
            .map(([w]) => w)
            .sort();
          expect(await repo.segmentSize(tag)).toBe(expected.length);
          expect(await members(tag)).toEqual(expected);
          for (const [who, sources] of truth)
            expect((await repo.personTags(who)).filter((t) => t.tag === tag).map((t) => t.source)).toEqual(
              [...sources].sort(),
            );
        },
      ),
      { numRuns: 15 },
    );
  });

  it('lists tags in use with their sizes, and pages members with an opaque cursor', async () => {
    const tag = uid('listed');
    for (const p of ['p1', 'p2', 'p3']) await repo.addManualTags(`${tag}-${p}`, [tag], now);
    const all: { tag: string; size: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.segmentsPage(3, cursor);
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toContainEqual({ tag, size: 3 });
    expect(await repo.segmentExists(tag)).toBe(true);
    expect(await repo.segmentExists(uid('never'))).toBe(false);

    const first = await repo.segmentMembers(tag, 2);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await repo.segmentMembers(tag, 2, first.nextCursor);
    expect([...first.items, ...second.items].map((m) => m.userId).sort()).toEqual(
      ['p1', 'p2', 'p3'].map((p) => `${tag}-${p}`),
    );
    // A cursor of another partition, or garbage: the client's 400, not DynamoDB's error.
    await expect(repo.segmentMembers(uid('other'), 2, first.nextCursor)).rejects.toMatchObject({
      status: 400,
    });
    await expect(repo.segmentMembers(tag, 2, 'not-a-cursor')).rejects.toMatchObject({ status: 400 });
  });

  it('lists no membership a crash left without sources, the next apply settles its size, and repairs a half-written tag', async () => {
    const tag = uid('crash');
    const u = uid('cy');
    await repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now);
    // A crash in a removal: tag item unconfirmed, source out, size not settled yet.
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `person#${u}`, sk: `tag#${tag}#rule:r1` },
        UpdateExpression: 'REMOVE m',
      }),
    );
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `segment#${tag}`, sk: u },
        UpdateExpression: 'DELETE sources :s',
        ExpressionAttributeValues: { ':s': new Set(['rule:r1']) },
      }),
    );
    expect((await repo.segmentMembers(tag, 10)).items).toEqual([]);
    // The counter follows at the retry of the removal.
    expect(await repo.segmentSize(tag)).toBe(1);
    expect((await repo.applyRuleOutcomes(u, [outcome('r1', tag, false)], now)).removed).toBe(1);
    expect(await repo.segmentSize(tag)).toBe(0);
    expect(await itemsOf(`segment#${tag}`)).toEqual([]);
    await repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now);

    // A crash between the tag item and its confirmation: the next apply completes it.
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `person#${u}`, sk: `tag#${tag}#rule:r1` },
        UpdateExpression: 'REMOVE m',
      }),
    );
    const repaired = await repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now);
    expect(repaired.added).toBe(1);
    expect(await repo.segmentSize(tag)).toBe(1);
    expect((await repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now)).added).toBe(0);
  });
});

describe('applyRuleOutcomes', () => {
  it('is idempotent: the same outcomes again write nothing', async () => {
    const u = uid('dee');
    const tag = uid('fv');
    const next = '2026-06-12T00:00:00.000Z';
    const outcomes = [outcome('r1', tag, true, next), outcome('r2', `${tag}-x`, false)];
    expect(await repo.applyRuleOutcomes(u, outcomes, now)).toEqual({
      added: 1,
      removed: 0,
      checksWritten: 1,
    });
    expect(await repo.applyRuleOutcomes(u, outcomes, now)).toEqual({
      added: 0,
      removed: 0,
      checksWritten: 0,
    });
    expect(await repo.personTags(u)).toEqual([{ tag, source: 'rule:r1', setAt: now.toISOString() }]);
    expect(await repo.segmentSize(tag)).toBe(1);

    // Still holding later: the tag keeps its time; the check moves.
    const later = new Date('2026-06-11T10:00:00.000Z');
    await repo.applyRuleOutcomes(u, [outcome('r1', tag, true, '2026-06-13T00:00:00.000Z')], later);
    expect((await repo.personTags(u))[0]?.setAt).toBe(now.toISOString());
    const check = await db.send(
      new GetCommand({ TableName: table, Key: { pk: `person#${u}`, sk: 'check#r1' } }),
    );
    expect(check.Item).toMatchObject({ nextCheck: '2026-06-13T00:00:00.000Z', checkShard: checkShardOf(u) });

    // Stops holding, no time dependence left: tag, membership and check all go.
    expect(await repo.applyRuleOutcomes(u, [outcome('r1', tag, false)], later)).toEqual({
      added: 0,
      removed: 1,
      checksWritten: 1,
    });
    expect(await repo.personTags(u)).toEqual([]);
    expect(await repo.segmentSize(tag)).toBe(0);
    expect(await itemsOf(`person#${u}`)).toEqual([]);
  });

  it('converges when the same person is applied concurrently (consumer and sweep at once)', async () => {
    const u = uid('conc');
    const tag = uid('ct');
    await Promise.all(
      Array.from({ length: 5 }, () => repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now)),
    );
    await Promise.all([
      repo.addManualTags(u, [tag], now),
      repo.applyRuleOutcomes(u, [outcome('r1', tag, true)], now),
      repo.applyRuleOutcomes(u, [outcome('r2', tag, true)], now),
    ]);
    expect((await repo.segmentMembers(tag, 10)).items).toEqual([
      { userId: u, sources: ['manual', 'rule:r1', 'rule:r2'] },
    ]);
    // Everything confirmed: applying again writes nothing.
    expect(
      await repo.applyRuleOutcomes(u, [outcome('r1', tag, true), outcome('r2', tag, true)], now),
    ).toEqual({ added: 0, removed: 0, checksWritten: 0 });
    await Promise.all([
      repo.applyRuleOutcomes(u, [outcome('r1', tag, false)], now),
      repo.applyRuleOutcomes(u, [outcome('r2', tag, false)], now),
      repo.removeManualTag(u, tag),
    ]);
    expect(await repo.segmentSize(tag)).toBe(0);
    expect(await itemsOf(`segment#${tag}`)).toEqual([]);
  });

  it("moves a rule's tag when the rule's tag changes", async () => {
    const u = uid('eve');
    const [a, b] = [uid('old'), uid('new')];
    await repo.applyRuleOutcomes(u, [outcome('r1', a, true)], now);
    await repo.applyRuleOutcomes(u, [outcome('r1', b, true)], now);
    expect((await repo.personTags(u)).map((t) => t.tag)).toEqual([b]);
    expect([await repo.segmentSize(a), await repo.segmentSize(b)]).toEqual([0, 1]);
  });

  it('keeps checks in a sparse index the sweep queries by shard and due time', async () => {
    const people = Array.from({ length: 40 }, (_, i) => uid(`sw${i}`));
    const due = '2026-06-11T00:00:00.000Z';
    const notYet = '2026-06-20T00:00:00.000Z';
    for (const [i, p] of people.entries())
      await repo.applyRuleOutcomes(
        p,
        [outcome('sweep-r', 'sweepy', true, i % 2 === 0 ? due : notYet), outcome('sweep-s', 'other', true)],
        now,
      );
    const found: string[] = [];
    const at = new Date('2026-06-11T00:00:01.000Z');
    for (let s = 0; s < CHECK_SHARDS; s++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await repo.dueChecks(`s${s}`, at, 7, start);
        for (const c of page.items) if (c.ruleId === 'sweep-r') found.push(c.personKey);
        start = page.lastKey;
      } while (start);
    }
    expect(found.sort()).toEqual(people.filter((_, i) => i % 2 === 0).sort());
    // Shards spread the people.
    expect(new Set(people.map(checkShardOf)).size).toBeGreaterThan(4);
  });
});

describe('rules and backfill jobs', () => {
  it('stores rules, tells a change of what they decide from a new description', async () => {
    const id = uid('rule');
    const body = { tag: 'fv', when: { type: 'video-play', atLeast: 5, withinDays: 7 } } as const;
    const created = await repo.putRule(id, body, now);
    expect(created).toMatchObject({ created: true, changed: true, rule: { ruleId: id, tag: 'fv' } });
    expect(await repo.putRule(id, body, now)).toMatchObject({ created: false, changed: false });
    expect(await repo.putRule(id, { ...body, description: 'x' }, now)).toMatchObject({ changed: false });
    expect(await repo.putRule(id, { ...body, tag: 'fv2' }, now)).toMatchObject({ changed: true });
    expect((await repo.getRule(id))?.tag).toBe('fv2');
    expect((await repo.listRules()).map((r) => r.ruleId)).toContain(id);
    expect(await repo.segmentExists('fv2')).toBe(true);
  });

  it('advances a segment only from where it stands, and a replaced job stops the old run', async () => {
    const id = uid('job');
    const job = await repo.startBackfill(id, 'h1', now);
    expect(await repo.openBackfills()).toContainEqual(job);
    expect(await repo.openBackfillSegments(job, 1, now)).toEqual([{ segment: 0, done: false }]);
    expect(await repo.advanceBackfillSegment(job, 0, undefined, 'c1', 10, now)).toEqual({ jobDone: false });
    // A second run that started from the same state lost the race.
    expect(await repo.advanceBackfillSegment(job, 0, undefined, 'c1', 10, now)).toBeUndefined();
    expect((await repo.backfills([id])).get(id)).toMatchObject({ status: 'running', processed: 10 });
    const replaced = await repo.startBackfill(id, 'h2', now);
    expect(await repo.advanceBackfillSegment(job, 0, 'c1', undefined, 5, now)).toBeUndefined();
    await repo.openBackfillSegments(replaced, 1, now);
    expect(await repo.advanceBackfillSegment(replaced, 0, undefined, undefined, 3, now)).toEqual({
      jobDone: true,
    });
    expect((await repo.backfills([id])).get(id)).toMatchObject({ status: 'done', processed: 3 });
    expect((await repo.openBackfills()).map((j) => j.ruleId)).not.toContain(id);
  });
});

describe('erasure and export', () => {
  it('finds and removes every tag, check and membership of a person', async () => {
    const u = uid('gone');
    const tag = uid('t');
    await repo.addManualTags(u, [tag], now);
    await repo.applyRuleOutcomes(u, [outcome('r9', tag, true, '2026-07-01T00:00:00.000Z')], now);
    const exported = await repo.exportPerson(u);
    expect(exported.map((i) => `${i.pk}/${i.sk}`).sort()).toEqual(
      [
        `person#${u}/check#r9`,
        `person#${u}/tag#${tag}#manual`,
        `person#${u}/tag#${tag}#rule:r9`,
        `segment#${tag}/${u}`,
      ].sort(),
    );
    expect(await repo.erasePerson(u)).toBe(4);
    expect(await repo.segmentSize(tag)).toBe(0);
    expect(await repo.exportPerson(u)).toEqual([]);
  });
});
