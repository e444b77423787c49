/**
 * Batch reads and writes retry what DynamoDB leaves unprocessed, but not forever: a table that
 * keeps throttling fails the batch with an error naming how many items stayed unprocessed.
 * A fake client stands in for DynamoDB (dynalite never leaves items unprocessed).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCH_MAX_ATTEMPTS,
  batchGetAll,
  batchWriteAll,
  UnprocessedItemsError,
} from '../../functions/adapters/dynamo';

type Input = { RequestItems: Record<string, { Keys?: unknown[] } | unknown[]> };

/** A client that processes `served` items per call and leaves the rest unprocessed. */
const throttledClient = (served: (call: number) => number) => {
  let calls = 0;
  const send = vi.fn(async (command: { input: Input }) => {
    const request = command.input.RequestItems.t as { Keys?: unknown[] } | unknown[];
    const n = served(calls++);
    if (Array.isArray(request)) {
      const rest = request.slice(n);
      return { UnprocessedItems: rest.length > 0 ? { t: rest } : {} };
    }
    const keys = request.Keys ?? [];
    const rest = keys.slice(n);
    return {
      Responses: { t: keys.slice(0, n) },
      UnprocessedKeys: rest.length > 0 ? { t: { Keys: rest } } : {},
    };
  });
  return { db: { send } as unknown as DynamoDBDocumentClient, send };
};

const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: `p${i}`, sk: 's' }));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Runs `work` while advancing the fake clock through its backoffs. */
const settle = async <T>(work: Promise<T>): Promise<PromiseSettledResult<T>> => {
  const result = Promise.allSettled([work]);
  await vi.runAllTimersAsync();
  return (await result)[0] as PromiseSettledResult<T>;
};

describe('batch retries', () => {
  it('retry unprocessed keys until every one is read', async () => {
    const { db, send } = throttledClient(() => 10);
    const out = await settle(batchGetAll(db, 't', keys(35)));
    expect(out.status).toBe('fulfilled');
    expect((out as PromiseFulfilledResult<{ items: unknown[] }>).value.items).toHaveLength(35);
    expect(send).toHaveBeenCalledTimes(4);
  });

  it('give up on reads after the capped attempts, naming what stayed unprocessed', async () => {
    const { db, send } = throttledClient((call) => (call === 0 ? 100 : 1));
    const out = await settle(batchGetAll(db, 't', keys(130)));
    expect(out.status).toBe('rejected');
    const error = (out as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(UnprocessedItemsError);
    // The first 100 were read; the second chunk of 30 got 1 per call.
    expect(error).toMatchObject({ operation: 'BatchGetItem', unprocessed: 30 - BATCH_MAX_ATTEMPTS });
    expect(error.message).toContain(`${30 - BATCH_MAX_ATTEMPTS} of 30 item(s) unprocessed in t`);
    expect(send).toHaveBeenCalledTimes(1 + BATCH_MAX_ATTEMPTS);
  });

  it('give up on writes after the capped attempts', async () => {
    const { db, send } = throttledClient(() => 0);
    const puts = keys(5).map((k) => ({ PutRequest: { Item: k } }));
    const out = await settle(batchWriteAll(db, 't', puts));
    expect(out.status).toBe('rejected');
    expect((out as PromiseRejectedResult).reason).toMatchObject({
      name: 'UnprocessedItemsError',
      operation: 'BatchWriteItem',
      unprocessed: 5,
      requested: 5,
    });
    expect(send).toHaveBeenCalledTimes(BATCH_MAX_ATTEMPTS);
  });

  it('retry writes that are taken in the end', async () => {
    const { db, send } = throttledClient((call) => (call < 3 ? 0 : 25));
    const puts = keys(30).map((k) => ({ PutRequest: { Item: k } }));
    expect((await settle(batchWriteAll(db, 't', puts))).status).toBe('fulfilled');
    expect(send).toHaveBeenCalledTimes(5);
  });
});
