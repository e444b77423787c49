/**
 * Feature flags in the experiments table.
 *
 * Key design: `flags` / `<key>` — all in one partition, so the features payload loads every flag
 * with one Query (and caches them beside the experiment definitions). The validated body is kept
 * as a JSON string (`definition`), as experiment definitions are, so any JSON value survives
 * DynamoDB's type mapping unchanged. Writes are optimistic: `version` must be the one read.
 * No personal data: a flag names tags and channels, never a person.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { FlagBody, StoredFlag } from '../core/flags';
import { type Item, putIf, queryPartition, versionIs } from './dynamo';

export const FLAGS_PK = 'flags';

const toItem = (f: StoredFlag): Item => {
  const { key, version, updatedAt, ...body } = f;
  return {
    pk: FLAGS_PK,
    sk: key,
    key,
    version,
    updatedAt,
    definition: JSON.stringify(body satisfies FlagBody),
  };
};

const fromItem = (item: Item): StoredFlag => ({
  ...(JSON.parse(item.definition as string) as FlagBody),
  key: item.key as string,
  version: item.version as number,
  updatedAt: item.updatedAt as string,
});

export class FlagsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(key: string): Promise<StoredFlag | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: FLAGS_PK, sk: key }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async list(): Promise<StoredFlag[]> {
    return (await queryPartition(this.db, this.tableName, FLAGS_PK)).map(fromItem);
  }

  /** Write if the stored flag is still at `expectedVersion` (0: must not exist); false otherwise. */
  async put(flag: StoredFlag, expectedVersion: number): Promise<boolean> {
    return putIf(this.db, { TableName: this.tableName, Item: toItem(flag), ...versionIs(expectedVersion) });
  }
}
