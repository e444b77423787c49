/**
 * Backfill jobs, in the tags table (`backfill / <ruleId>`, key design: tags-table.ts): a new or
 * changed rule is applied to everyone already seen, page by page of the users table, and the job
 * item holds where the last run stopped.
 */

import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, type Item, isConditionFailed, queryPartition } from './dynamo';
import { BACKFILL_PK } from './tags-table';

export type BackfillStatus = 'pending' | 'running' | 'done';

export interface BackfillJob {
  ruleId: string;
  /** A new job per rule change: an older run's progress never lands on a newer job. */
  jobId: string;
  ruleHash: string;
  /** ExclusiveStartKey of the next users-table page (JSON), absent at the start and at the end. */
  cursor?: string;
  status: BackfillStatus;
  /** Persons evaluated so far. */
  processed: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

const toJob = (item: Item): BackfillJob => ({
  ruleId: item.ruleId as string,
  jobId: item.jobId as string,
  ruleHash: item.ruleHash as string,
  ...(typeof item.cursor === 'string' && { cursor: item.cursor }),
  status: item.status as BackfillStatus,
  processed: (item.processed as number) ?? 0,
  startedAt: item.startedAt as string,
  updatedAt: item.updatedAt as string,
  ...(typeof item.finishedAt === 'string' && { finishedAt: item.finishedAt }),
});

export class BackfillJobsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** A fresh backfill job for a rule, replacing any job of an earlier version. */
  async startBackfill(ruleId: string, hash: string, now: Date): Promise<BackfillJob> {
    const at = now.toISOString();
    const job: BackfillJob = {
      ruleId,
      jobId: randomBytes(8).toString('hex'),
      ruleHash: hash,
      status: 'pending',
      processed: 0,
      startedAt: at,
      updatedAt: at,
    };
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: BACKFILL_PK, sk: ruleId, ...job } }),
    );
    return job;
  }

  /** Jobs not done yet. */
  async openBackfills(): Promise<BackfillJob[]> {
    return (await queryPartition(this.db, this.tableName, BACKFILL_PK))
      .map(toJob)
      .filter((j) => j.status !== 'done');
  }

  async backfills(ruleIds: readonly string[]): Promise<Map<string, BackfillJob>> {
    const { items } = await batchGetAll(
      this.db,
      this.tableName,
      ruleIds.map((id) => ({ pk: BACKFILL_PK, sk: id })),
    );
    return new Map(items.map((i) => [i.ruleId as string, toJob(i)]));
  }

  /**
   * Record a job's progress from `job.cursor` to `next` (undefined: done). Conditional on the
   * job and cursor it started from, so two overlapping runs never both advance it, and a run
   * of a replaced job stops. False when someone else moved it.
   */
  async advanceBackfill(
    job: BackfillJob,
    next: string | undefined,
    processed: number,
    now: Date,
  ): Promise<boolean> {
    const done = next === undefined;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: BACKFILL_PK, sk: job.ruleId },
          UpdateExpression: `SET #status = :status, #processed = #processed + :n, updatedAt = :at${
            done ? ', finishedAt = :at REMOVE #cursor' : ', #cursor = :next'
          }`,
          ConditionExpression: `jobId = :job AND ${
            job.cursor === undefined ? 'attribute_not_exists(#cursor)' : '#cursor = :prev'
          }`,
          ExpressionAttributeNames: { '#status': 'status', '#cursor': 'cursor', '#processed': 'processed' },
          ExpressionAttributeValues: {
            ':status': done ? 'done' : 'running',
            ':n': processed,
            ':at': now.toISOString(),
            ':job': job.jobId,
            ...(!done && { ':next': next }),
            ...(job.cursor !== undefined && { ':prev': job.cursor }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
