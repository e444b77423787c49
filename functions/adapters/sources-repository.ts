/**
 * The sources table: one item per source (`source#<id>`) and one per write-key hash
 * (`key#<sha256>`) so a key resolves with a single GetItem. Keys themselves are never stored.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { hashWriteKey, mintWriteKey, type NewSource, newSourceId, type Source } from '../core/sources';
import { decodeCursor, encodeCursor, type Page } from './pagination';

const sourceKey = (sourceId: string) => ({ pk: `source#${sourceId}`, sk: 'source' });
const writeKeyKey = (hash: string) => ({ pk: `key#${hash}`, sk: 'key' });

const toSource = (item: Record<string, unknown>): Source => ({
  sourceId: item.sourceId as string,
  name: item.name as string,
  channel: item.channel as Source['channel'],
  kind: item.kind as Source['kind'],
  rateLimit: item.rateLimit as number,
  createdAt: item.createdAt as string,
  ...(item.revokedAt ? { revokedAt: item.revokedAt as string } : {}),
});

export interface CreatedSource {
  source: Source;
  /** Shown this once: only its hash is stored. */
  writeKey: string;
  /**
   * A client source's identity-verification secret (core/identity-verification.ts), for the
   * customer's backend to compute user hashes with. Derived, never stored: shown this once too.
   */
  identitySecret?: string;
}

export class SourcesRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Derives a source's identity secret (the signing key is the function's, not the table's). */
    private readonly identitySecretOf?: (sourceId: string) => Promise<string>,
  ) {}

  /** `writeKey`: a key to register again (the local stack's stable dev key); default a new one. */
  async create(
    input: NewSource,
    now = new Date(),
    writeKey = mintWriteKey(input.kind),
  ): Promise<CreatedSource> {
    const keyHash = hashWriteKey(writeKey);
    const source: Source = { sourceId: newSourceId(), ...input, createdAt: now.toISOString() };
    // Key item first: a source item without a key item is only a dead entry, never a loose key.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...writeKeyKey(keyHash), ...source },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...sourceKey(source.sourceId), ...source, keyHash },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    // Server keys are trusted and never present user hashes: only a client source has a secret.
    const identitySecret =
      source.kind === 'client' && this.identitySecretOf
        ? await this.identitySecretOf(source.sourceId)
        : undefined;
    return { source, writeKey, ...(identitySecret !== undefined && { identitySecret }) };
  }

  /** The live source a write key belongs to, or undefined (unknown or revoked). */
  async findByWriteKey(writeKey: string): Promise<Source | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: writeKeyKey(hashWriteKey(writeKey)) }),
    );
    return Item && !Item.revokedAt ? toSource(Item) : undefined;
  }

  async get(sourceId: string): Promise<Source | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: sourceKey(sourceId) }),
    );
    return Item ? toSource(Item) : undefined;
  }

  /** Sources, newest scan order; an admin listing, small by nature, so a paginated Scan. */
  async list(limit: number, cursor?: string): Promise<Page<Source>> {
    const items: Source[] = [];
    let start = decodeCursor(cursor);
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :s',
          ExpressionAttributeValues: { ':s': 'source' },
          ExclusiveStartKey: start,
          Limit: Math.max(limit - items.length, 1) * 2,
        }),
      );
      for (const item of page.Items ?? []) {
        if (items.length === limit) break;
        items.push(toSource(item));
        start = { pk: item.pk, sk: item.sk };
      }
      if (items.length < limit) start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return { items, nextCursor: start ? encodeCursor(start) : undefined };
  }

  /** Revoke: the key item goes (lookups fail at once, caches within their TTL); the source stays, marked. */
  async revoke(sourceId: string, now = new Date()): Promise<Source | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: sourceKey(sourceId) }),
    );
    if (!Item) return undefined;
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: writeKeyKey(Item.keyHash as string) }),
    );
    if (Item.revokedAt) return toSource(Item);
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: sourceKey(sourceId),
        UpdateExpression: 'SET revokedAt = :t',
        ExpressionAttributeValues: { ':t': now.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toSource(Attributes ?? Item);
  }
}
