/**
 * Bulk import jobs in the traits table (key design: trait-declarations-repository.ts): `imports` /
 * `<importId>` holds the request, the progress (the byte offset and line to resume at, counts) and the report (up
 * to IMPORT_LIMITS.listedRejections rejected rows by line, with reasons that name fields, never
 * values). All in one partition, which the job runner lists; items expire 30 days after creation.
 * A run checkpoints after every chunk it put on the stream, under a lease, so a run that dies
 * resumes at the chunk it had not finished.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ImportBody } from '../core/imports';
import { type Item, queryPartition, updateIf } from './dynamo';

const IMPORTS_PK = 'imports';
const JOB_TTL_DAYS = 30;

export type ImportStatus = 'awaiting_upload' | 'running' | 'completed' | 'failed' | 'expired';

export interface Rejection {
  line: number;
  reasons: string[];
}

export interface ImportJob extends ImportBody {
  importId: string;
  status: ImportStatus;
  /** The upload's key in the imports bucket. */
  objectKey: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The line the next chunk starts on (0: from the start). */
  nextLine: number;
  /** The byte offset the next chunk starts at, where the next run resumes (absent: from the start). */
  nextByte?: number;
  rows: number;
  applied: number;
  rejected: number;
  rejections: Rejection[];
  error?: string;
  leaseUntil?: number;
}

const toJob = (item: Item): ImportJob => {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...job } = item;
  return job as unknown as ImportJob;
};

export class ImportsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: ImportJob): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: IMPORTS_PK,
          sk: job.importId,
          ...job,
          expiresAt: Math.floor(Date.parse(job.createdAt) / 1000) + JOB_TTL_DAYS * 86_400,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(importId: string): Promise<ImportJob | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: IMPORTS_PK, sk: importId },
        ConsistentRead: true,
      }),
    );
    return Item ? toJob(Item) : undefined;
  }

  /** Jobs still to run: waiting for their upload, or part-way through it. */
  async active(): Promise<ImportJob[]> {
    return (await queryPartition(this.db, this.tableName, IMPORTS_PK))
      .map(toJob)
      .filter((j) => j.status === 'awaiting_upload' || j.status === 'running');
  }

  /** Take the job's lease until `until` (epoch ms) unless a live run holds it. */
  async lease(importId: string, now: number, until: number): Promise<boolean> {
    const out = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: IMPORTS_PK, sk: importId },
      UpdateExpression: 'SET leaseUntil = :until',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
      ExpressionAttributeValues: { ':until': until, ':now': now },
    });
    return out !== undefined;
  }

  /** Save the job's progress (under its lease); `release` drops the lease (the run is over). */
  async save(job: ImportJob, release = false): Promise<void> {
    const { leaseUntil, ...rest } = job;
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: IMPORTS_PK,
          sk: job.importId,
          ...rest,
          ...(!release && leaseUntil !== undefined && { leaseUntil }),
          expiresAt: Math.floor(Date.parse(job.createdAt) / 1000) + JOB_TTL_DAYS * 86_400,
        },
      }),
    );
  }
}
