/**
 * Segment sizes as counters against dynalite: exact under concurrent adds and removes from
 * several writers (consumer, sweep, manual tags), retries, a crash between the counter and the
 * membership, and erasure.
 */
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentSizes, sizeKeyOf } from '../../functions/adapters/segment-sizes';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import type { RuleOutcome } from '../../functions/core/rules';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table: string;
let repo: TagsRepository;
const now = new Date('2026-06-10T15:30:00.000Z');

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  table = emulators.names.tables.tags;
  repo = new TagsRepository(db, table);
});
afterAll(() => emulators.close());

const rule = (tag: string, holds: boolean): RuleOutcome[] => [{ rule: { ruleId: `r-${tag}`, tag }, holds }];

/** A seeded pseudo-random sequence (the same schedule on every run). */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('segment sizes', () => {
  it('stay exact under concurrent adds and removes by three writers, with repeats', async () => {
    const tag = 'concurrent';
    const people = Array.from({ length: 24 }, (_, i) => `cc-${i}`);
    const next = random(7);
    // Each writer sends a burst of changes for random people; writers run at once.
    const writer = (kind: 'consumer' | 'sweep' | 'manual') =>
      (async () => {
        for (let i = 0; i < 40; i++) {
          const p = people[Math.floor(next() * people.length)] as string;
          const holds = next() < 0.6;
          if (kind === 'manual') {
            if (holds) await repo.addManualTags(p, [tag], now);
            else await repo.removeManualTag(p, tag);
          } else await repo.applyRuleOutcomes(p, rule(tag, holds), now);
        }
      })();
    await Promise.all([writer('consumer'), writer('sweep'), writer('manual')]);
    const counted = await repo.countMembers(tag);
    expect(counted).toBeGreaterThan(0);
    expect(await repo.segmentSize(tag)).toBe(counted);
    const { items } = await repo.segmentsPage(100);
    expect(items.find((s) => s.tag === tag)?.size).toBe(counted);
  }, 120_000);

  it('counts a member once, however many sources and repeats put it there', async () => {
    const tag = 'twice';
    await Promise.all([
      repo.applyRuleOutcomes('tw-1', rule(tag, true), now),
      repo.applyRuleOutcomes('tw-1', rule(tag, true), now),
      repo.addManualTags('tw-1', [tag], now),
      repo.addManualTags('tw-1', [tag], now),
    ]);
    expect(await repo.segmentSize(tag)).toBe(1);
    const sizes = new SegmentSizes(db, table);
    // Called again (a retry): nothing left to change.
    expect(await sizes.membershipChanged(tag, 'tw-1')).toEqual([]);
    await repo.removeManualTag('tw-1', tag);
    expect(await repo.segmentSize(tag)).toBe(1);
    await repo.applyRuleOutcomes('tw-1', rule(tag, false), now);
    expect(await repo.segmentSize(tag)).toBe(0);
  });

  it('finishes a change a crash left between the counter and the membership, without counting it twice', async () => {
    const tag = 'crashed';
    const sizes = new SegmentSizes(db, table);
    await repo.applyRuleOutcomes('cr-1', rule(tag, true), now);
    await repo.applyRuleOutcomes('cr-2', rule(tag, true), now);
    expect(await repo.segmentSize(tag)).toBe(2);
    // cr-1 leaves: its source is out, the change taken and added to the counter, then a crash.
    const membership = { pk: `segment#${tag}`, sk: 'cr-1' };
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: membership,
        UpdateExpression: 'REMOVE sources SET op = :op, opDelta = :d, opUntil = :until',
        ExpressionAttributeValues: {
          ':op': `${Date.now().toString(36)}.x`,
          ':d': -1,
          ':until': Date.now() - 1,
        },
      }),
    );
    const { Item } = await db.send(new GetCommand({ TableName: table, Key: membership }));
    const shard = sizeKeyOf(tag, 'cr-1');
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: shard,
        UpdateExpression: 'ADD n :d, ops :op',
        ExpressionAttributeValues: { ':d': -1, ':op': new Set([Item?.op as string]) },
      }),
    );
    expect(await repo.segmentSize(tag)).toBe(1);
    // The next call (a retry of the removal) takes the expired lease over and commits it once.
    expect(await sizes.membershipChanged(tag, 'cr-1')).toEqual(['left']);
    expect(await repo.segmentSize(tag)).toBe(1);
    expect(await repo.countMembers(tag)).toBe(1);
    const after = await db.send(new GetCommand({ TableName: table, Key: shard }));
    expect(after.Item?.ops).toBeUndefined();
    expect((await db.send(new GetCommand({ TableName: table, Key: membership }))).Item).toBeUndefined();
  });

  it('a change in flight under someone else’s lease is not touched: the caller is told to retry', async () => {
    const tag = 'busy';
    const sizes = new SegmentSizes(db, table);
    await repo.applyRuleOutcomes('bz-1', rule(tag, true), now);
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `segment#${tag}`, sk: 'bz-1' },
        UpdateExpression: 'REMOVE sources SET op = :op, opDelta = :d, opUntil = :until',
        ExpressionAttributeValues: { ':op': 'held', ':d': -1, ':until': Date.now() + 60_000 },
      }),
    );
    await expect(sizes.membershipChanged(tag, 'bz-1')).rejects.toMatchObject({ name: 'MembershipBusyError' });
    expect(await repo.segmentSize(tag)).toBe(1);
  });

  it('counts memberships written before sizes were counters, once, by the migration', async () => {
    const tag = 'legacy';
    const sizes = new SegmentSizes(db, table);
    await repo.addManualTags('lg-1', [tag], now);
    // Two memberships as the old code left them: sources, no `counted` mark, not in the counter.
    for (const p of ['lg-2', 'lg-3'])
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: `segment#${tag}`, sk: p },
          UpdateExpression: 'ADD sources :s',
          ExpressionAttributeValues: { ':s': new Set(['manual']) },
        }),
      );
    expect(await repo.segmentSize(tag)).toBe(1);
    expect(await sizes.countUncounted(tag)).toBe(2);
    expect(await sizes.countUncounted(tag)).toBe(0);
    expect(await repo.segmentSize(tag)).toBe(3);
    expect(await repo.countMembers(tag)).toBe(3);
  });

  it('a change being committed already counts in the membership view audience messages are judged by', async () => {
    // Triggers are written before the commit: a redrive between the two must not find the entry it
    // announces superseded by a membership that has not caught up yet.
    const tag = 'in-flight';
    const sizes = new SegmentSizes(db, table);
    const membership = { pk: `segment#${tag}`, sk: 'if-1' };
    const seen: boolean[] = [];
    const look = async () => {
      seen.push((await sizes.committed([{ segment: tag, personKey: 'if-1' }])).size === 1);
    };
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: membership,
        UpdateExpression: 'ADD sources :s',
        ExpressionAttributeValues: { ':s': new Set(['manual']) },
      }),
    );
    expect(await sizes.membershipChanged(tag, 'if-1', look)).toEqual(['entered']);
    await look();
    await db.send(
      new UpdateCommand({ TableName: table, Key: membership, UpdateExpression: 'REMOVE sources' }),
    );
    expect(await sizes.membershipChanged(tag, 'if-1', look)).toEqual(['left']);
    await look();
    // Entering: a member during and after the commit; leaving: no longer one during it, nor after.
    expect(seen).toEqual([true, true, false, false]);
  });

  it('erasure takes the person out of every segment size', async () => {
    await repo.addManualTags('er-1', ['erase-a', 'erase-b'], now);
    await repo.applyRuleOutcomes('er-1', rule('erase-a', true), now);
    await repo.addManualTags('er-2', ['erase-a'], now);
    expect(await repo.segmentSize('erase-a')).toBe(2);
    expect(await repo.erasePerson('er-1')).toBeGreaterThan(0);
    expect(await repo.segmentSize('erase-a')).toBe(1);
    expect(await repo.segmentSize('erase-b')).toBe(0);
    expect(await repo.countMembers('erase-a')).toBe(1);
  });
});
