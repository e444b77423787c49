/**
 * The index of the on-failure bucket: person id -> the failed batches (object keys) that name it,
 * so erasure and export read only those objects instead of every object in the bucket. Kept in the
 * quarantine table (encrypted, expiring, a personal-data table erasure covers) under its own
 * partitions, expiring after the objects they point to.
 */

/** Margin past the bucket's retention: S3 lifecycle expiry runs after midnight UTC, not to the second. */
export const FAILURE_INDEX_MARGIN_DAYS = 2;

/** When an index entry for an object written at `writtenAt` may go. */
export const failureIndexExpiry = (writtenAt: Date, retentionDays: number): Date =>
  new Date(writtenAt.getTime() + (retentionDays + FAILURE_INDEX_MARGIN_DAYS) * 86_400_000);

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, deletePartition, queryPartition } from './dynamo';

export const failureIndexPk = (id: string): string => `fi#${id}`;

export class FailureIndex {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Idempotent: indexing an object again (a redelivered notification) writes the same items. */
  async add(objectKey: string, ids: readonly string[], expiresAt: Date): Promise<void> {
    const expires = Math.floor(expiresAt.getTime() / 1000);
    await batchWriteAll(
      this.db,
      this.tableName,
      [...new Set(ids)].map((id) => ({
        PutRequest: { Item: { pk: failureIndexPk(id), sk: objectKey, objectKey, expiresAt: expires } },
      })),
    );
  }

  /**
   * The object keys naming any of these ids. Expired entries count too: S3 lifecycle expiry lags
   * (objects go at the next midnight UTC, or later), and a key already gone costs one GetObject.
   */
  async objectKeys(ids: readonly string[]): Promise<string[]> {
    const items = await Promise.all(
      [...new Set(ids)].map((id) => queryPartition(this.db, this.tableName, failureIndexPk(id))),
    );
    return [...new Set(items.flat().map((i) => i.sk as string))];
  }

  /** Forget these ids (they are personal data themselves); how many entries there were. */
  async erase(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of new Set(ids)) n += await deletePartition(this.db, this.tableName, failureIndexPk(id));
    return n;
  }
}
