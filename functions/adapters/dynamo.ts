/**
 * DynamoDB plumbing the repositories share: whole-partition queries, and batch reads and
 * writes that retry what DynamoDB left unprocessed (with backoff), within the API's limits.
 * Retries are capped: a table that keeps throttling fails the caller's work (which its own
 * retry — a stream redelivery, a client's retry — takes up later) instead of hanging it.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor, type Page } from './pagination';

export type Item = Record<string, unknown>;
export type Key = { pk: string; sk: string };

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));

/**
 * Calls per batch, the first included, before unprocessed items fail the batch. The backoff adds
 * up to about 3.6 s, well within every function's timeout; DynamoDB leaves items unprocessed
 * when a partition is throttled, which lasts seconds, not minutes.
 */
export const BATCH_MAX_ATTEMPTS = 8;

/** Items DynamoDB still left unprocessed after BATCH_MAX_ATTEMPTS calls: the caller's work fails. */
export class UnprocessedItemsError extends Error {
  constructor(
    readonly operation: 'BatchGetItem' | 'BatchWriteItem',
    readonly tableName: string,
    readonly unprocessed: number,
    readonly requested: number,
  ) {
    super(
      `${operation} left ${unprocessed} of ${requested} item(s) unprocessed in ${tableName} after ${BATCH_MAX_ATTEMPTS} attempts`,
    );
    this.name = 'UnprocessedItemsError';
  }
}

export const isConditionFailed = (error: unknown): boolean =>
  (error as { name?: string }).name === 'ConditionalCheckFailedException';

/**
 * An UpdateItem whose condition may not hold: the attributes it returns (per ReturnValues;
 * empty without), or undefined when the condition failed.
 */
export const updateIf = async (
  db: DynamoDBDocumentClient,
  input: UpdateCommandInput,
): Promise<Item | undefined> => {
  try {
    return (await db.send(new UpdateCommand(input))).Attributes ?? {};
  } catch (error) {
    if (isConditionFailed(error)) return undefined;
    throw error;
  }
};

/** A PutItem whose condition may not hold: whether it wrote. */
export const putIf = async (db: DynamoDBDocumentClient, input: PutCommandInput): Promise<boolean> => {
  try {
    await db.send(new PutCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
};

/**
 * The condition of an optimistic write: the stored item is still at `expected` of its version
 * attribute, or (expected 0) does not exist yet. Spread into a Put or Update input.
 */
export const versionIs = (expected: number, attribute = 'version') =>
  expected === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#ver = :expectedVersion',
        ExpressionAttributeNames: { '#ver': attribute },
        ExpressionAttributeValues: { ':expectedVersion': expected },
      };

/** Delete an item: whether there was one (ALL_OLD says; an absent item is no error). */
export const deleteExisting = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  key: Key,
): Promise<boolean> =>
  (await db.send(new DeleteCommand({ TableName: tableName, Key: key, ReturnValues: 'ALL_OLD' })))
    .Attributes !== undefined;

/** A DeleteItem whose condition may not hold: whether it deleted. */
export const deleteIf = async (db: DynamoDBDocumentClient, input: DeleteCommandInput): Promise<boolean> => {
  try {
    await db.send(new DeleteCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
};

/** Every item of a partition (optionally with a sort-key prefix), all pages, consistent. */
export const queryPartition = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  skPrefix?: string,
): Promise<Item[]> => {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out: QueryCommandOutput = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': pk, ...(skPrefix === undefined ? {} : { ':sk': skPrefix }) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
};

/** One page of a partition, from an opaque cursor (checked to be of this partition). */
export const queryPage = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Item>> => {
  const out: QueryCommandOutput = await db.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, pk),
    }),
  );
  return {
    items: out.Items ?? [],
    ...(out.LastEvaluatedKey && { nextCursor: encodeCursor(out.LastEvaluatedKey) }),
  };
};

/**
 * BatchGetItem over any number of keys, retrying unprocessed keys (capped); returns the items
 * found and the read units used.
 */
export const batchGetAll = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
): Promise<{ items: Item[]; consumed: number }> => {
  const items: Item[] = [];
  let consumed = 0;
  const unique = [...new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
  for (let i = 0; i < unique.length; i += 100) {
    const chunk = unique.slice(i, i + 100);
    let pending: Item[] | undefined = chunk;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt === BATCH_MAX_ATTEMPTS)
        throw new UnprocessedItemsError('BatchGetItem', tableName, pending.length, chunk.length);
      if (attempt > 0) await backoff(attempt);
      const out: BatchGetCommandOutput = await db.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      consumed += out.ConsumedCapacity?.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0) ?? 0;
      items.push(...(out.Responses?.[tableName] ?? []));
      pending = out.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return { items, consumed };
};

/** BatchWriteItem puts and deletes, 25 at a time, retrying unprocessed ones (capped). */
export const batchWriteAll = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly ({ PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } })[],
): Promise<void> => {
  for (let i = 0; i < requests.length; i += 25) {
    type Requests = NonNullable<BatchWriteCommandOutput['UnprocessedItems']>[string];
    const chunk = requests.slice(i, i + 25) as Requests;
    let pending: Requests | undefined = chunk;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt === BATCH_MAX_ATTEMPTS)
        throw new UnprocessedItemsError('BatchWriteItem', tableName, pending.length, chunk.length);
      if (attempt > 0) await backoff(attempt);
      const out: BatchWriteCommandOutput = await db.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: pending as NonNullable<typeof pending> } }),
      );
      pending = out.UnprocessedItems?.[tableName];
    }
  }
};

/** Delete every item of a partition; returns how many there were. */
export const deletePartition = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<number> => {
  const items = await queryPartition(db, tableName, pk);
  await batchWriteAll(
    db,
    tableName,
    items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })),
  );
  return items.length;
};
