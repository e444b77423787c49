/**
 * The outbox: every message for every destination, from enqueue to delivered or dead, in the
 * outbox table. Personal data (messages carry a person's ids and events): erasure and export reach
 * it by the person's partition, and withdrawal of consent drops what waits in it.
 *
 *   o#<owner> / <destinationId>#<messageId>    one message for one destination. `owner` is the
 *       person key (a person's messages share a partition: erasure is one Query per id), or
 *       `~alert#<alertId>` for messages about no one. Attributes: the message (JSON), `state`
 *       (pending | delivered | dead | dropped: consent withdrawn | superseded: an audience message
 *       the membership moved past), `attempts`, `firstAttemptAt`, `lastError`, and only while
 *       pending `dueKey` = `<destinationId>#<0..DUE_SHARDS-1>` (a hash of the owner: one person's
 *       messages share a shard) and `dueAt` (ISO): the sparse index `byDue` holds exactly the
 *       messages waiting, by destination, oldest due first.
 *   o#~erasure#<erasureId> / <destinationId>#deletion    erasure's deletion requests to vendors, due
 *       under `dueKey` = `~deletions`: their key design is functions/adapters/erasure-requests.ts's.
 *
 * Enqueue is put-if-absent, so a stream redelivery or a retried trigger never enqueues a message
 * twice; a delivered message stays (without its payload) for DELIVERED_KEEP_DAYS as the memory of
 * that, longer than the stream keeps a record. A replay re-enqueues delivered and dead messages.
 * Whoever attempts a message holds it by moving its `dueAt` forward (a lease, LEASE_MS), with a
 * condition on the `dueAt` it read: the consumer when it enqueues, the redrive when it claims.
 *
 * Per-person order (functions/core/destinations/ordering.ts, docs/destinations.md "Order"). For a
 * destination D that applies updates in arrival order and a person P: a message of P goes to D only
 * when no earlier one (by `at`, then id) of P for D is pending out of the sending round's hands —
 * `pendingFor` (one consistent Query of `o#P`, sort keys `D#…`) finds them; the consumer's happy
 * path reads, never writes. What must wait is held (`hold`: its `dueAt` moved to the blocker's, no
 * attempt counted) or, first tried by the consumer, enqueued at that time. The redrive claims a
 * person's other due messages with the ones its page returned, so neither the round size nor a
 * shard's page splits a person; a person stops at their first message to retry, the rest wait with
 * it. Not covered: an anonymous id and its user before the merge are two owners; a late event goes
 * after a later one already delivered; a redelivered stream batch is re-sent; a round outliving its
 * lease (LEASE_MS) or racing a trigger of the same person.
 */
import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import type { TableName } from '../../lib/tables';
import type { OutboundMessage } from '../core/destinations/delivery';
import { type Item, isConditionFailed, queryPartition, updateIf } from './dynamo';
import { eraseEach, exportEach, type PersonalDataStore } from './personal-data';

export const DUE_SHARDS = 4;
export const DUE_INDEX = 'byDue';
/** How long an attempt holds its messages before the redrive may take them over. */
export const LEASE_MS = 2 * 60_000;
export const DELIVERED_KEEP_DAYS = 8;
/** Pending and dead messages are kept this long at most (a paused destination has that long to resume). */
export const PENDING_KEEP_DAYS = 14;

export interface OutboxItem {
  pk: string;
  sk: string;
  destinationId: string;
  message: OutboundMessage;
  state: 'pending' | 'delivered' | 'dead' | 'dropped' | 'superseded';
  attempts: number;
  enqueuedAt: string;
  firstAttemptAt?: string;
  dueAt?: string;
  lastError?: string;
  /** False for a message tried before it was ever written (the consumer's first attempt). */
  stored?: false;
}

/**
 * The lease of an attempt, for anything waiting in the outbox table's due index (messages, erasure
 * requests): move its `dueAt` forward, on condition it is still the one read. False when another
 * worker took it first.
 */
export const claimDue = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  item: { pk: string; sk: string; dueAt?: string },
  until: Date,
): Promise<boolean> =>
  (await updateIf(db, {
    TableName: tableName,
    Key: { pk: item.pk, sk: item.sk },
    UpdateExpression: 'SET dueAt = :until',
    ConditionExpression: 'dueAt = :seen',
    ExpressionAttributeValues: { ':until': until.toISOString(), ':seen': item.dueAt },
  })) !== undefined;

const ALERT_OWNER = '~alert#';
export const ownerOf = (m: OutboundMessage): string =>
  m.personKey ?? `${ALERT_OWNER}${m.alert?.alertId ?? m.messageId}`;
const ownerPk = (owner: string) => `o#${owner}`;
const dueKeyOf = (destinationId: string, owner: string) =>
  `${destinationId}#${createHash('sha256').update(owner).digest().readUInt32BE(0) % DUE_SHARDS}`;
const epoch = (ms: number) => Math.floor(ms / 1000);
const days = (n: number) => n * 86_400_000;

const fromItem = (i: Item): OutboxItem => ({
  pk: i.pk as string,
  sk: i.sk as string,
  destinationId: i.destinationId as string,
  message: i.message
    ? (JSON.parse(i.message as string) as OutboundMessage)
    : ({ messageId: i.messageId } as OutboundMessage),
  state: i.state as OutboxItem['state'],
  attempts: Number(i.attempts ?? 0),
  enqueuedAt: i.enqueuedAt as string,
  ...(i.firstAttemptAt !== undefined && { firstAttemptAt: i.firstAttemptAt as string }),
  ...(i.dueAt !== undefined && { dueAt: i.dueAt as string }),
  ...(i.lastError !== undefined && { lastError: i.lastError as string }),
});

/** The stored form of a message waiting for its first attempt. */
const pendingItem = (destinationId: string, message: OutboundMessage, dueAt: Date, now: Date) => {
  const owner = ownerOf(message);
  return {
    pk: ownerPk(owner),
    sk: `${destinationId}#${message.messageId}`,
    destinationId,
    messageId: message.messageId,
    message: JSON.stringify(message),
    state: 'pending' as const,
    attempts: 0,
    enqueuedAt: now.toISOString(),
    dueKey: dueKeyOf(destinationId, owner),
    dueAt: dueAt.toISOString(),
    expiresAt: epoch(now.getTime() + days(PENDING_KEEP_DAYS)),
  };
};

/**
 * A message the stream consumer tries before storing anything (`stored: false`): only what its
 * first attempt did not deliver is written (firstAttemptFailed). A redelivered stream record is
 * sent again — at-least-once, with the vendors' idempotency keys — but the happy path writes nothing
 * per event.
 */
export const unstoredItem = (destinationId: string, message: OutboundMessage, now: Date): OutboxItem => ({
  ...fromItem(pendingItem(destinationId, message, now, now)),
  stored: false,
});

export class OutboxRepository {
  private readonly limit = pLimit(16);

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Puts each message for its destination, due at `dueAt`, unless it is there already (a replay:
   * unless it is there and still pending). Returns the items it wrote.
   */
  async enqueue(
    entries: readonly { destinationId: string; message: OutboundMessage }[],
    dueAt: Date,
    now: Date,
    options: { replay?: boolean } = {},
  ): Promise<OutboxItem[]> {
    const written = await Promise.all(
      entries.map(({ destinationId, message }) =>
        this.limit(async (): Promise<OutboxItem | undefined> => {
          const item = pendingItem(destinationId, message, dueAt, now);
          try {
            await this.db.send(
              new PutCommand({
                TableName: this.tableName,
                Item: item,
                ConditionExpression: options.replay
                  ? 'attribute_not_exists(pk) OR #state <> :pending'
                  : 'attribute_not_exists(pk)',
                ...(options.replay && {
                  ExpressionAttributeNames: { '#state': 'state' },
                  ExpressionAttributeValues: { ':pending': 'pending' },
                }),
              }),
            );
            return fromItem(item);
          } catch (e) {
            if (isConditionFailed(e)) return undefined;
            throw e;
          }
        }),
      ),
    );
    return written.filter((w): w is OutboxItem => w !== undefined);
  }

  /** Messages of a destination due by `now`, oldest first, up to `limit`. */
  async due(destinationId: string, now: Date, limit: number): Promise<OutboxItem[]> {
    const pages = await Promise.all(
      Array.from({ length: DUE_SHARDS }, (_, n) =>
        this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: DUE_INDEX,
            KeyConditionExpression: 'dueKey = :k AND dueAt <= :now',
            ExpressionAttributeValues: { ':k': `${destinationId}#${n}`, ':now': now.toISOString() },
            Limit: limit,
          }),
        ),
      ),
    );
    return pages
      .flatMap((p) => (p.Items ?? []).map(fromItem))
      .sort((a, b) => (a.dueAt as string).localeCompare(b.dueAt as string))
      .slice(0, limit);
  }

  /** How many messages of a destination wait (due or not), and the oldest due time among them. */
  async waiting(destinationId: string): Promise<{ count: number; oldestDueAt?: string }> {
    let count = 0;
    let oldest: string | undefined;
    for (let n = 0; n < DUE_SHARDS; n++) {
      let start: Item | undefined;
      let first = true;
      do {
        const out: QueryCommandOutput = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: DUE_INDEX,
            KeyConditionExpression: 'dueKey = :k',
            ExpressionAttributeValues: { ':k': `${destinationId}#${n}` },
            ProjectionExpression: 'dueAt',
            ExclusiveStartKey: start,
          }),
        );
        count += out.Items?.length ?? 0;
        const head = out.Items?.[0]?.dueAt as string | undefined;
        if (first && head !== undefined && (oldest === undefined || head < oldest)) oldest = head;
        first = false;
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return { count, ...(oldest !== undefined && { oldestDueAt: oldest }) };
  }

  /**
   * Writes a message whose first, unstored attempt failed: waiting for its retry, or dead. Unless
   * it is there already (a redelivered record met a stored copy): that copy stands.
   */
  async firstAttemptFailed(
    item: OutboxItem,
    next: { dueAt: Date; firstAttemptAt: string; error: string } | { dead: true; error: string },
    now: Date,
  ): Promise<void> {
    const base = pendingItem(item.destinationId, item.message, now, now);
    const { dueKey, dueAt, ...rest } = base;
    const stored =
      'dead' in next
        ? { ...rest, state: 'dead', deadAt: now.toISOString(), attempts: 1, lastError: next.error }
        : {
            ...base,
            dueAt: next.dueAt.toISOString(),
            attempts: 1,
            firstAttemptAt: next.firstAttemptAt,
            lastError: next.error,
          };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: stored,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }

  /**
   * A person's messages waiting for one destination (due or not, held by anyone): what an ordered
   * destination's next message must wait behind. One strongly consistent Query of the person's
   * partition, narrowed to the destination's sort keys; only messages that once failed, or triggers,
   * are there.
   */
  async pendingFor(owner: string, destinationId: string): Promise<OutboxItem[]> {
    const items: OutboxItem[] = [];
    let start: Item | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
          FilterExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':pk': ownerPk(owner),
            ':d': `${destinationId}#`,
            ':pending': 'pending',
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []).map(fromItem));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Takes a due message for an attempt (its lease); false when someone else took it first. */
  claim(item: OutboxItem, until: Date): Promise<boolean> {
    return claimDue(this.db, this.tableName, item, until);
  }

  async delivered(item: OutboxItem, now: Date): Promise<void> {
    await this.settle(item, {
      UpdateExpression:
        'SET #state = :s, deliveredAt = :now, attempts = :a, expiresAt = :exp REMOVE dueKey, dueAt, message',
      ExpressionAttributeValues: {
        ':s': 'delivered',
        ':now': now.toISOString(),
        ':a': item.attempts + 1,
        ':exp': epoch(now.getTime() + days(DELIVERED_KEEP_DAYS)),
      },
    });
  }

  async retry(item: OutboxItem, firstAttemptAt: string, dueAt: Date, error: string): Promise<void> {
    await this.settle(item, {
      UpdateExpression: 'SET attempts = :a, firstAttemptAt = :f, dueAt = :due, lastError = :e',
      ExpressionAttributeValues: {
        ':a': item.attempts + 1,
        ':f': firstAttemptAt,
        ':due': dueAt.toISOString(),
        ':e': error,
      },
    });
  }

  /** Dead: kept (with the vendor's answer) for inspection until it expires; no longer due. */
  async dead(item: OutboxItem, error: string, now: Date): Promise<void> {
    await this.settle(item, {
      UpdateExpression: 'SET #state = :s, deadAt = :now, attempts = :a, lastError = :e REMOVE dueKey, dueAt',
      ExpressionAttributeValues: {
        ':s': 'dead',
        ':now': now.toISOString(),
        ':a': item.attempts + 1,
        ':e': error,
      },
    });
  }

  /**
   * Never to be delivered: its person withdrew the destination's purpose, or was erased. The payload
   * goes at once; the key stays (as a delivered one does) so a redelivered stream record does not
   * enqueue it again. Erasure removes it with the rest of the person's partition.
   */
  async drop(item: OutboxItem, now: Date): Promise<void> {
    await this.retire(item, 'dropped', now);
  }

  /**
   * A message we hold waits, unattempted, until `dueAt`: behind its person's earlier message for an
   * ordered destination (functions/core/destinations/ordering.ts).
   */
  async hold(item: OutboxItem, dueAt: Date): Promise<void> {
    await this.settle(item, {
      UpdateExpression: 'SET dueAt = :due',
      ExpressionAttributeValues: { ':due': dueAt.toISOString() },
    });
  }

  /**
   * Never to be delivered: an audience message the person's membership has moved past (a later
   * enter or leave carries the state). Kept as a key, like a dropped one.
   */
  async supersede(item: OutboxItem, now: Date): Promise<void> {
    await this.retire(item, 'superseded', now);
  }

  /** Out of the due index for good, payload removed, key kept DELIVERED_KEEP_DAYS (a redelivery enqueues nothing). */
  private async retire(item: OutboxItem, state: 'dropped' | 'superseded', now: Date) {
    await this.settle(item, {
      UpdateExpression: `SET #state = :s, ${state}At = :now, expiresAt = :exp REMOVE dueKey, dueAt, message`,
      ExpressionAttributeValues: {
        ':s': state,
        ':now': now.toISOString(),
        ':exp': epoch(now.getTime() + days(DELIVERED_KEEP_DAYS)),
      },
    });
  }

  /** The update of a message we hold, unless it is gone (erased, dropped) meanwhile. */
  private async settle(
    item: OutboxItem,
    update: { UpdateExpression: string; ExpressionAttributeValues: Item },
  ) {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: item.pk, sk: item.sk },
      ConditionExpression: 'attribute_exists(pk)',
      ...(update.UpdateExpression.includes('#state') && { ExpressionAttributeNames: { '#state': 'state' } }),
      ...update,
    });
  }

  /** Export and erasure: every message in these people's partitions. */
  async partitions(ids: readonly string[]): Promise<Item[]> {
    return exportEach(ids, (id) => queryPartition(this.db, this.tableName, ownerPk(id)));
  }

  async eraseIds(ids: readonly string[]): Promise<number> {
    return eraseEach(ids, async (id) => {
      const items = await queryPartition(this.db, this.tableName, ownerPk(id));
      await Promise.all(
        items.map((i) =>
          this.limit(() =>
            this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: i.pk, sk: i.sk } })),
          ),
        ),
      );
      return items.length;
    });
  }
}

/** The outbox in erasure and export: every message waiting for, delivered to or dead at a destination. */
export class OutboxPersonalData implements PersonalDataStore {
  readonly name = 'outbox';
  readonly tables: readonly TableName[] = ['outbox'];
  constructor(private readonly outbox: OutboxRepository) {}
  async export(ids: readonly string[]): Promise<unknown[]> {
    return (await this.outbox.partitions(ids)).map(({ message, ...rest }) => ({
      ...rest,
      ...(message !== undefined && { message: JSON.parse(message as string) }),
    }));
  }
  erase(ids: readonly string[]): Promise<number> {
    return this.outbox.eraseIds(ids);
  }
}
