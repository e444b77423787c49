/**
 * Erasure forwarded to vendors: one deletion request per erasure and destination, in the outbox table
 * (functions/adapters/outbox-repository.ts owns the rest of it) so it shares the outbox's retries,
 * its due index and its expiry — but in a partition of its own, since erasure purges the person's.
 *
 *   o#~erasure#<erasureId> / <destinationId>#deletion    one deletion request. Attributes:
 *       `destinationId`, `destinationType`, `state` (requested | delivered | failed | skipped),
 *       `attempts`, `requestedAt`, `firstAttemptAt`, `settledAt`, `answer` (the vendor's short
 *       answer, the person's ids blanked). Only while `requested`: `person` (JSON: the ids the
 *       vendor needs, and nothing else), `dueKey` = `~deletions` and `dueAt` (the sparse index
 *       `byDue`: every waiting deletion of every destination in one key — they are few, and a
 *       destination that is disabled or paused still gets its own).
 *
 * Settling removes `person` (delivered, failed or skipped alike), so the ids live only while the
 * vendor has not answered for good — hours at most under retries, PENDING_KEEP_DAYS by TTL at worst;
 * the outcome stays STATUS_KEEP_DAYS for `GET /api/erasures/{erasureId}`.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DestinationType } from '../core/destinations/definition';
import type { ErasedPerson } from '../core/destinations/deletion';
import { type Item, queryPartition, updateIf } from './dynamo';
import { claimDue, DUE_INDEX, PENDING_KEEP_DAYS } from './outbox-repository';

export const DELETIONS_DUE_KEY = '~deletions';
/** How long an erasure's per-destination outcome is kept (no personal data in it). */
export const STATUS_KEEP_DAYS = 90;

export type DeletionState = 'requested' | 'delivered' | 'failed' | 'skipped';

export interface DeletionItem {
  pk: string;
  sk: string;
  erasureId: string;
  destinationId: string;
  destinationType: DestinationType;
  person: ErasedPerson;
  attempts: number;
  firstAttemptAt?: string;
  dueAt: string;
}

/** One destination's part of an erasure, as the status answers it. */
export interface DeletionStatus {
  destinationId: string;
  type: DestinationType;
  status: DeletionState;
  attempts: number;
  requestedAt: string;
  settledAt?: string;
  answer?: string;
}

const partition = (erasureId: string) => `o#~erasure#${erasureId}`;
const epoch = (ms: number) => Math.floor(ms / 1000);
const days = (n: number) => n * 86_400_000;

export class ErasureRequests {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Records a deletion request for each destination, due now. */
  async request(
    person: ErasedPerson,
    targets: readonly { destinationId: string; type: DestinationType }[],
    now: Date,
  ): Promise<void> {
    await Promise.all(
      targets.map((d) =>
        this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: partition(person.erasureId),
              sk: `${d.destinationId}#deletion`,
              erasureId: person.erasureId,
              destinationId: d.destinationId,
              destinationType: d.type,
              state: 'requested',
              attempts: 0,
              requestedAt: now.toISOString(),
              person: JSON.stringify(person),
              dueKey: DELETIONS_DUE_KEY,
              dueAt: now.toISOString(),
              expiresAt: epoch(now.getTime() + days(PENDING_KEEP_DAYS)),
            },
          }),
        ),
      ),
    );
  }

  /** Deletion requests due by `now`, oldest first, up to `limit`. */
  async due(now: Date, limit: number): Promise<DeletionItem[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueKey = :k AND dueAt <= :now',
        ExpressionAttributeValues: { ':k': DELETIONS_DUE_KEY, ':now': now.toISOString() },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => ({
      pk: i.pk as string,
      sk: i.sk as string,
      erasureId: i.erasureId as string,
      destinationId: i.destinationId as string,
      destinationType: i.destinationType as DestinationType,
      person: JSON.parse(i.person as string) as ErasedPerson,
      attempts: Number(i.attempts ?? 0),
      ...(i.firstAttemptAt !== undefined && { firstAttemptAt: i.firstAttemptAt as string }),
      dueAt: i.dueAt as string,
    }));
  }

  /** Takes a due request for an attempt (its lease); false when another worker took it first. */
  claim(item: DeletionItem, until: Date): Promise<boolean> {
    return claimDue(this.db, this.tableName, item, until);
  }

  /** Another attempt later; the ids stay until then. */
  async retry(item: DeletionItem, firstAttemptAt: string, dueAt: Date, answer: string): Promise<void> {
    await this.update(item, {
      UpdateExpression: 'SET attempts = :a, firstAttemptAt = :f, dueAt = :due, answer = :ans',
      ExpressionAttributeValues: {
        ':a': item.attempts + 1,
        ':f': firstAttemptAt,
        ':due': dueAt.toISOString(),
        ':ans': answer,
      },
    });
  }

  /** Done for good: the outcome stays, the ids go (a skipped request counts no attempt). */
  async settle(
    item: DeletionItem,
    state: Exclude<DeletionState, 'requested'>,
    answer: string,
    now: Date,
  ): Promise<void> {
    await this.update(item, {
      UpdateExpression:
        'SET #state = :s, attempts = :a, answer = :ans, settledAt = :now, expiresAt = :exp REMOVE person, dueKey, dueAt',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':s': state,
        ':a': item.attempts + (state === 'skipped' ? 0 : 1),
        ':ans': answer,
        ':now': now.toISOString(),
        ':exp': epoch(now.getTime() + days(STATUS_KEEP_DAYS)),
      },
    });
  }

  /** Every destination's part of an erasure (none: unknown or expired). */
  async status(erasureId: string): Promise<DeletionStatus[]> {
    const items = await queryPartition(this.db, this.tableName, partition(erasureId));
    return items.map((i: Item) => ({
      destinationId: i.destinationId as string,
      type: i.destinationType as DestinationType,
      status: i.state as DeletionState,
      attempts: Number(i.attempts ?? 0),
      requestedAt: i.requestedAt as string,
      ...(i.settledAt !== undefined && { settledAt: i.settledAt as string }),
      ...(i.answer !== undefined && { answer: i.answer as string }),
    }));
  }

  /** An update of a request we hold, unless its item expired meanwhile. */
  private async update(
    item: DeletionItem,
    update: {
      UpdateExpression: string;
      ExpressionAttributeValues: Item;
      ExpressionAttributeNames?: Record<string, string>;
    },
  ): Promise<void> {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: item.pk, sk: item.sk },
      ConditionExpression: 'attribute_exists(pk)',
      ...update,
    });
  }
}
