/**
 * Backfill jobs, in the tags table (`backfill / <ruleId>`, key design: tags-table.ts): a new or
 * changed rule is applied to everyone already seen, page by page of the users table, and the job
 * item holds where the last run stopped.
 */

import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, type Item, queryPartition, updateIf } from './dynamo';
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

/** One segment of a backfill's parallel Scan: its cursor (absent at the start), or done. */
export interface ScanSegment {
  segment: number;
  cursor?: string;
  done: boolean;
}

/** Segment cursors as stored: these two markers, or a users-table page's key as JSON. */
const SEGMENT_START = 'start';
const SEGMENT_DONE = 'done';

const scanSegments = (stored: unknown): ScanSegment[] =>
  Object.entries((stored ?? {}) as Record<string, string>)
    .map(([segment, cursor]) => ({
      segment: Number(segment),
      ...(cursor !== SEGMENT_START && cursor !== SEGMENT_DONE && { cursor }),
      done: cursor === SEGMENT_DONE,
    }))
    .sort((a, b) => a.segment - b.segment);

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
   * The job's parallel-scan segments and where each stands, opening them (all at the start) on
   * the first call: `segments` on the job item maps a segment number to its cursor. undefined
   * when the job was replaced by a newer one.
   */
  async openBackfillSegments(
    job: BackfillJob,
    totalSegments: number,
    now: Date,
  ): Promise<ScanSegment[] | undefined> {
    const fresh = Object.fromEntries(
      Array.from({ length: totalSegments }, (_, s) => [String(s), SEGMENT_START]),
    );
    const item = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression: 'SET #segments = if_not_exists(#segments, :fresh), updatedAt = :at',
      ConditionExpression: 'jobId = :job',
      ExpressionAttributeNames: { '#segments': 'segments' },
      ExpressionAttributeValues: { ':fresh': fresh, ':job': job.jobId, ':at': now.toISOString() },
      ReturnValues: 'ALL_NEW',
    });
    return item && scanSegments(item.segments);
  }

  /**
   * Record one segment's progress from `from` to `next` (undefined: the segment is done), adding
   * `processed`; the job is done once every segment is. Conditional on the job and the segment's
   * cursor, so overlapping runs never both advance a segment: undefined when someone else moved
   * it (or a newer job replaced this one).
   */
  async advanceBackfillSegment(
    job: BackfillJob,
    segment: number,
    from: string | undefined,
    next: string | undefined,
    processed: number,
    now: Date,
  ): Promise<{ jobDone: boolean } | undefined> {
    const at = now.toISOString();
    const item = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression:
        'SET #segments.#s = :next, #status = :running, #processed = #processed + :n, updatedAt = :at',
      ConditionExpression: 'jobId = :job AND #segments.#s = :from',
      ExpressionAttributeNames: {
        '#segments': 'segments',
        '#s': String(segment),
        '#status': 'status',
        '#processed': 'processed',
      },
      ExpressionAttributeValues: {
        ':next': next ?? SEGMENT_DONE,
        ':from': from ?? SEGMENT_START,
        ':running': 'running',
        ':n': processed,
        ':at': at,
        ':job': job.jobId,
      },
      ReturnValues: 'ALL_NEW',
    });
    if (!item) return undefined;
    if (scanSegments(item.segments).some((s) => !s.done)) return { jobDone: false };
    // Every segment is done: the job is, unless another run marked it first.
    const finished = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression: 'SET #status = :done, finishedAt = :at, updatedAt = :at',
      ConditionExpression: 'jobId = :job AND #status <> :done',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':done': 'done', ':at': at, ':job': job.jobId },
    });
    return { jobDone: finished !== undefined };
  }
}
