/**
 * Segment sizes as exact counters, kept where memberships change: `membershipChanged` is the one
 * point every change of a membership's sources goes through (rule tagging in the consumer and the
 * sweep, manual tags, erasure), and it commits each enter and leave exactly once — where segment
 * enter/leave triggers belong. Key design: tags-table.ts.
 *
 * Without transactions (dynalite has none), a membership and its counter are kept in step by a
 * pending change on the membership item (`op`, `opDelta`, under a lease `opUntil`) and a ledger of
 * applied changes on the counter (`ops`):
 *   1. the membership takes a change (+1 entering, -1 leaving), if none is pending;
 *   2. the counter adds the delta unless its ledger holds the change (a retry adds nothing);
 *   3. the membership records the outcome (`counted`) and drops the change; it is now committed;
 *   4. the ledger forgets the change.
 * A crash anywhere leaves a pending change, which the next call for that membership finishes once
 * its lease ran out; only the lease holder touches the counter, and only within SAFE_MS of taking
 * the lease, so a change is never added again after step 4. Counters are sharded by person
 * (SIZE_SHARDS items per tag): a backfill of a million members spreads its writes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { membershipKey } from '../core/destinations/ordering';
import { batchGetAll, deleteIf, type Item, updateIf } from './dynamo';
import { segmentPk, sizeKey } from './tags-table';

export const SIZE_SHARDS = 8;
/** How long a pending change belongs to the call that took it. */
const LEASE_MS = 30_000;
/** A lease holder this late stops short of the counter (the lease may be someone else's soon). */
const SAFE_MS = 10_000;
/** Ledger entries this old are stale leftovers of a crash between steps 3 and 4. */
const LEDGER_KEEP_MS = 60 * 60_000;
const ATTEMPTS = 8;

export type MembershipChange = 'entered' | 'left';

/**
 * Run with a change before it commits (segment triggers): `changeId` and `at` are the same for every
 * attempt at that change, so what it writes can be idempotent. If it fails, the change stays pending
 * (its lease released) and the next call for the membership runs it again: nothing is lost to a
 * failed write after the size already moved.
 */
export type BeforeCommit = (change: MembershipChange, changeId: string, at: string) => Promise<void>;

/** A membership stayed busy with a change another call holds: the caller's retry settles it. */
export class MembershipBusyError extends Error {
  constructor(readonly tag: string) {
    super(`membership of segment ${tag} is busy with a pending change`);
    this.name = 'MembershipBusyError';
  }
}

/** The counter shard a member's changes go to: always the same, so its ledger sees every retry. */
export const sizeKeyOf = (tag: string, personKey: string) =>
  sizeKey(tag, createHash('sha256').update(personKey).digest().readUInt32BE(0) % SIZE_SHARDS);
const opTime = (op: string) => Number.parseInt(op.split('.')[0] ?? '', 36);
const pause = (attempt: number) => new Promise((r) => setTimeout(r, 10 * 2 ** attempt));

export class SegmentSizes {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Call after any change to a membership's sources: brings the segment's size in line with it
   * and deletes a membership left with no source. Returns the changes it committed, in order.
   */
  async membershipChanged(
    tag: string,
    personKey: string,
    beforeCommit?: BeforeCommit,
  ): Promise<MembershipChange[]> {
    const Key = { pk: segmentPk(tag), sk: personKey };
    const changes: MembershipChange[] = [];
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { Item: m } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }),
      );
      const lease = m?.op === undefined ? await this.begin(Key, m) : await this.takeOver(Key, m);
      if (lease === 'settled') return changes;
      if (lease === undefined) {
        // Someone else holds the change, or the membership moved meanwhile: look again.
        if (m?.op !== undefined) await pause(attempt);
        continue;
      }
      const change = await this.finish(tag, Key, lease, beforeCommit);
      if (change) changes.push(change);
    }
    throw new MembershipBusyError(tag);
  }

  /** A change to take, or 'settled' when the counter already agrees (a leaver is deleted). */
  private async begin(Key: { pk: string; sk: string }, m: Item | undefined) {
    const member = m?.sources !== undefined;
    const counted = m?.counted === true;
    if (member === counted) {
      if (!m || member) return 'settled' as const;
      const gone = await deleteIf(this.db, {
        TableName: this.tableName,
        Key,
        ConditionExpression:
          'attribute_not_exists(sources) AND attribute_not_exists(counted) AND attribute_not_exists(op)',
      });
      return gone ? ('settled' as const) : undefined;
    }
    const op = `${Date.now().toString(36)}.${randomUUID()}`;
    const delta = member ? 1 : -1;
    const until = Date.now() + LEASE_MS;
    const taken = await updateIf(this.db, {
      TableName: this.tableName,
      Key,
      UpdateExpression: 'SET op = :op, opDelta = :d, opUntil = :until',
      ConditionExpression: member
        ? 'attribute_not_exists(op) AND attribute_exists(sources) AND attribute_not_exists(counted)'
        : 'attribute_not_exists(op) AND attribute_not_exists(sources) AND counted = :true',
      ExpressionAttributeValues: {
        ':op': op,
        ':d': delta,
        ':until': until,
        ...(!member && { ':true': true }),
      },
    });
    return taken && { op, delta, until, takenAt: Date.now() };
  }

  /** A pending change whose lease ran out (its holder crashed or stalled) is taken over. */
  private async takeOver(Key: { pk: string; sk: string }, m: Item) {
    if ((m.opUntil as number) > Date.now()) return undefined;
    const until = Date.now() + LEASE_MS;
    const taken = await updateIf(this.db, {
      TableName: this.tableName,
      Key,
      UpdateExpression: 'SET opUntil = :until',
      ConditionExpression: 'op = :op AND opUntil = :old',
      ExpressionAttributeValues: { ':op': m.op, ':old': m.opUntil, ':until': until },
    });
    return taken && { op: m.op as string, delta: m.opDelta as number, until, takenAt: Date.now() };
  }

  /** Steps 2 to 4 of a change this call holds; the change, if this call committed it. */
  private async finish(
    tag: string,
    Key: { pk: string; sk: string },
    lease: { op: string; delta: number; until: number; takenAt: number },
    beforeCommit?: BeforeCommit,
  ): Promise<MembershipChange | undefined> {
    if (Date.now() - lease.takenAt > SAFE_MS) return undefined;
    const counter = sizeKeyOf(tag, Key.sk);
    const opSet = new Set([lease.op]);
    const added = await updateIf(this.db, {
      TableName: this.tableName,
      Key: counter,
      UpdateExpression: 'SET tag = :tag ADD n :d, ops :op',
      ConditionExpression: 'NOT contains(ops, :id)',
      ExpressionAttributeValues: { ':tag': tag, ':d': lease.delta, ':op': opSet, ':id': lease.op },
      ReturnValues: 'ALL_NEW',
    });
    const change: MembershipChange = lease.delta > 0 ? 'entered' : 'left';
    if (beforeCommit) await this.runBeforeCommit(Key, lease, change, beforeCommit);
    const committed = await updateIf(this.db, {
      TableName: this.tableName,
      Key,
      UpdateExpression:
        lease.delta > 0
          ? 'SET counted = :true REMOVE op, opDelta, opUntil'
          : 'REMOVE counted, op, opDelta, opUntil',
      ConditionExpression: 'op = :op AND opUntil = :until',
      ExpressionAttributeValues: {
        ':op': lease.op,
        ':until': lease.until,
        ...(lease.delta > 0 && { ':true': true }),
      },
    });
    if (!committed) return undefined;
    const stale = [...((added?.ops as Set<string> | undefined) ?? [])].filter(
      (o) => o !== lease.op && Date.now() - opTime(o) > LEDGER_KEEP_MS,
    );
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: counter,
        UpdateExpression: 'DELETE ops :op',
        ExpressionAttributeValues: { ':op': new Set([lease.op, ...stale]) },
      }),
    );
    return change;
  }

  /** The hook of a held change; on failure the lease is released so the next call retries at once. */
  private async runBeforeCommit(
    Key: { pk: string; sk: string },
    lease: { op: string; until: number },
    change: MembershipChange,
    beforeCommit: BeforeCommit,
  ) {
    try {
      await beforeCommit(change, lease.op, new Date(opTime(lease.op)).toISOString());
    } catch (error) {
      await updateIf(this.db, {
        TableName: this.tableName,
        Key,
        UpdateExpression: 'SET opUntil = :past',
        ConditionExpression: 'op = :op AND opUntil = :until',
        ExpressionAttributeValues: { ':op': lease.op, ':until': lease.until, ':past': 0 },
      });
      throw error;
    }
  }

  /**
   * Count memberships written before sizes were counters (no `counted` mark): each goes through
   * membershipChanged, so a concurrent change still counts once. Once per deployed stage
   * (docs/migrations.md); returns how many it counted.
   */
  async countUncounted(tag: string): Promise<number> {
    let counted = 0;
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_not_exists(counted) AND attribute_not_exists(op)',
          ExpressionAttributeValues: { ':pk': segmentPk(tag) },
          ExclusiveStartKey: start,
        }),
      );
      for (const m of page.Items ?? [])
        counted += (await this.membershipChanged(tag, m.sk as string)).filter((c) => c === 'entered').length;
      start = page.LastEvaluatedKey;
    } while (start);
    return counted;
  }

  /**
   * Which of these memberships hold now, as the last enter or leave trigger announced it: `counted`,
   * or, while a change is pending, where that change goes (its trigger is written before it
   * commits, so a membership not caught up yet must not make the trigger look stale). Keyed by
   * membershipKey(segment, personKey); strongly consistent batch reads.
   */
  async committed(pairs: readonly { segment: string; personKey: string }[]): Promise<Set<string>> {
    const { items } = await batchGetAll(
      this.db,
      this.tableName,
      pairs.map((p) => ({ pk: segmentPk(p.segment), sk: p.personKey })),
    );
    return new Set(
      items
        .filter((i) => (i.op !== undefined ? i.opDelta === 1 : i.counted === true))
        .map((i) => membershipKey(String(i.pk).slice(segmentPk('').length), i.sk as string)),
    );
  }

  /** Each tag's size: the sum of its counter shards (SIZE_SHARDS small items, one batch read). */
  async sizes(tags: readonly string[]): Promise<Map<string, number>> {
    const keys = tags.flatMap((t) => Array.from({ length: SIZE_SHARDS }, (_, k) => sizeKey(t, k)));
    const { items } = await batchGetAll(this.db, this.tableName, keys);
    const out = new Map(tags.map((t) => [t, 0]));
    for (const i of items) {
      const tag = i.tag as string;
      out.set(tag, (out.get(tag) ?? 0) + ((i.n as number | undefined) ?? 0));
    }
    return out;
  }
}
