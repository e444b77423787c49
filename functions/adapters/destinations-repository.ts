/**
 * Destinations, their delivery status, campaign alerts and replay jobs, in the destinations table.
 * No personal data: ids of people live only in the outbox (outbox-repository.ts).
 *
 *   dest / <destinationId>                 the definition (one partition: listing is one Query)
 *   status#<destinationId> / status        counters (delivered, dead, consentDropped, superseded), the circuit
 *                                          breaker (consecutiveFailures, paused), the last 5 errors
 *                                          (`errors.e<n>`, a ring indexed by errorSeq)
 *   alert / <alertId>                      a campaign alert and its last evaluation
 *   replay#<destinationId> / <replayId>    a replay job: its window, cursor and progress
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Alert, AlertState } from '../core/alerts';
import type { Destination } from '../core/destinations/definition';
import { CIRCUIT } from '../core/destinations/delivery';
import { deleteExisting, type Item, queryPartition, updateIf } from './dynamo';

const DEST_PK = 'dest';
const ALERT_PK = 'alert';
const statusKey = (id: string) => ({ pk: `status#${id}`, sk: 'status' });
const replayPk = (id: string) => `replay#${id}`;
/** Errors kept per destination for the status route. */
export const ERRORS_KEPT = 5;

export interface DeliveryStatus {
  delivered: number;
  dead: number;
  consentDropped: number;
  /** Audience messages the membership moved past before they went (never sent stale). */
  superseded: number;
  consecutiveFailures: number;
  paused?: { at: string; reason: string };
  lastDeliveredAt?: string;
  lastErrors: { at: string; error: string }[];
}

export interface ReplayJob {
  destinationId: string;
  replayId: string;
  from: string;
  to: string;
  /** Replayed up to here (exclusive): the next slice starts at it. */
  cursor: string;
  enqueued: number;
  status: 'running' | 'done' | 'failed';
  createdAt: string;
  finishedAt?: string;
  error?: string;
}

/** What one delivery round did for one destination. */
export interface RoundOutcome {
  delivered: number;
  dead: number;
  consentDropped: number;
  /** Audience messages the membership moved past before they went (never sent stale). */
  superseded: number;
  breaker: 'failure' | 'success' | 'neutral';
  error?: string;
}

const strip = ({ pk: _pk, sk: _sk, ...rest }: Item) => rest;

export class DestinationsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(destinationId: string): Promise<Destination | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: DEST_PK, sk: destinationId },
        ConsistentRead: true,
      }),
    );
    return Item ? (strip(Item) as unknown as Destination) : undefined;
  }

  async list(): Promise<Destination[]> {
    return (await queryPartition(this.db, this.tableName, DEST_PK)).map(
      (i) => strip(i) as unknown as Destination,
    );
  }

  async put(d: Destination): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: DEST_PK, sk: d.destinationId, ...d } }),
    );
  }

  async delete(destinationId: string): Promise<boolean> {
    const existed = await deleteExisting(this.db, this.tableName, { pk: DEST_PK, sk: destinationId });
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: statusKey(destinationId) }));
    return existed;
  }

  async status(destinationId: string): Promise<DeliveryStatus> {
    const { Item = {} } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: statusKey(destinationId), ConsistentRead: true }),
    );
    const seq = Number(Item.errorSeq ?? 0);
    const errors = (Item.errors ?? {}) as Record<string, { at: string; error: string }>;
    const lastErrors: DeliveryStatus['lastErrors'] = [];
    for (let i = seq - 1; i >= Math.max(0, seq - ERRORS_KEPT); i--) {
      const e = errors[`e${i % ERRORS_KEPT}`];
      if (e) lastErrors.push(e);
    }
    return {
      delivered: Number(Item.delivered ?? 0),
      dead: Number(Item.dead ?? 0),
      consentDropped: Number(Item.consentDropped ?? 0),
      superseded: Number(Item.superseded ?? 0),
      consecutiveFailures: Number(Item.consecutiveFailures ?? 0),
      ...(Item.pausedAt !== undefined && {
        paused: { at: Item.pausedAt as string, reason: String(Item.pauseReason) },
      }),
      ...(Item.lastDeliveredAt !== undefined && { lastDeliveredAt: Item.lastDeliveredAt as string }),
      lastErrors,
    };
  }

  /** Whether the breaker holds the destination paused. */
  async isPaused(destinationId: string): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: statusKey(destinationId),
        ProjectionExpression: 'pausedAt',
        ConsistentRead: true,
      }),
    );
    return Item?.pausedAt !== undefined;
  }

  /**
   * Counts a round and moves the breaker: a failure adds to the run of failures and pauses the
   * destination at CIRCUIT.failuresToOpen; a success ends the run. Returns whether it paused now.
   */
  async recordRound(destinationId: string, r: RoundOutcome, now: Date): Promise<{ pausedNow: boolean }> {
    const at = now.toISOString();
    const sets = ['#u = :at'];
    const values: Item = {
      ':d': r.delivered,
      ':x': r.dead,
      ':c': r.consentDropped,
      ':s': r.superseded,
      ':at': at,
    };
    const names: Record<string, string> = { '#u': 'updatedAt' };
    if (r.delivered > 0) sets.push('lastDeliveredAt = :at');
    if (r.breaker === 'success') sets.push('consecutiveFailures = :zero');
    if (r.breaker === 'success') values[':zero'] = 0;
    const adds = ['delivered :d', '#dead :x', 'consentDropped :c', 'superseded :s'];
    names['#dead'] = 'dead';
    if (r.breaker === 'failure') {
      adds.push('consecutiveFailures :one');
      values[':one'] = 1;
    }
    if (r.error !== undefined) {
      adds.push('errorSeq :one');
      values[':one'] = 1;
    }
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: statusKey(destinationId),
        UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = out.Attributes ?? {};
    if (r.error !== undefined) {
      const slot = (Number(item.errorSeq) - 1) % ERRORS_KEPT;
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: statusKey(destinationId),
          UpdateExpression: 'SET errors = if_not_exists(errors, :empty)',
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: statusKey(destinationId),
          UpdateExpression: 'SET errors.#slot = :e',
          ExpressionAttributeNames: { '#slot': `e${slot}` },
          ExpressionAttributeValues: { ':e': { at, error: r.error } },
        }),
      );
    }
    if (r.breaker === 'failure' && Number(item.consecutiveFailures) >= CIRCUIT.failuresToOpen) {
      const paused = await this.pause(
        destinationId,
        `${CIRCUIT.failuresToOpen} failed requests in a row (last: ${r.error ?? 'unknown'})`,
        now,
      );
      return { pausedNow: paused };
    }
    return { pausedNow: false };
  }

  /** Pauses (once: a pause already in place keeps its time and reason); whether this call paused it. */
  async pause(destinationId: string, reason: string, now: Date): Promise<boolean> {
    const out = await updateIf(this.db, {
      TableName: this.tableName,
      Key: statusKey(destinationId),
      UpdateExpression: 'SET pausedAt = :at, pauseReason = :r',
      ConditionExpression: 'attribute_not_exists(pausedAt)',
      ExpressionAttributeValues: { ':at': now.toISOString(), ':r': reason.slice(0, 300) },
    });
    return out !== undefined;
  }

  /** Closes the breaker: delivery starts again at the next round. */
  async resume(destinationId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: statusKey(destinationId),
        UpdateExpression: 'SET consecutiveFailures = :zero REMOVE pausedAt, pauseReason',
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  // Alerts

  async putAlert(alert: Alert): Promise<{ created: boolean }> {
    const out = await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: ALERT_PK, sk: alert.alertId, ...alert },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return { created: out.Attributes === undefined };
  }

  async getAlert(alertId: string): Promise<(Alert & { state?: AlertState }) | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: ALERT_PK, sk: alertId }, ConsistentRead: true }),
    );
    return Item ? (strip(Item) as unknown as Alert & { state?: AlertState }) : undefined;
  }

  async listAlerts(): Promise<(Alert & { state?: AlertState })[]> {
    return (await queryPartition(this.db, this.tableName, ALERT_PK)).map(
      (i) => strip(i) as unknown as Alert & { state?: AlertState },
    );
  }

  async deleteAlert(alertId: string): Promise<boolean> {
    return deleteExisting(this.db, this.tableName, { pk: ALERT_PK, sk: alertId });
  }

  /** The alert's state after an evaluation, unless the alert was deleted meanwhile. */
  async saveAlertState(alertId: string, state: AlertState): Promise<void> {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: ALERT_PK, sk: alertId },
      UpdateExpression: 'SET #s = :s',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':s': state },
    });
  }

  // Replays

  async createReplay(job: ReplayJob): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: replayPk(job.destinationId), sk: job.replayId, ...job },
      }),
    );
  }

  async replays(destinationId: string): Promise<ReplayJob[]> {
    return (await queryPartition(this.db, this.tableName, replayPk(destinationId))).map(
      (i) => strip(i) as unknown as ReplayJob,
    );
  }

  async saveReplay(job: ReplayJob): Promise<void> {
    await this.createReplay(job);
  }
}
