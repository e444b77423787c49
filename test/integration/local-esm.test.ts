/**
 * The event source mapping emulator against real kinesalite: batching, partial batch responses,
 * bisection, retries, record age, the on-failure destination, ordering, iterator expiry and
 * throttling, and checkpoints kept across restarts. One stream per test, emulators per file.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  type KinesisClient,
  ProvisionedThroughputExceededException,
  PutRecordCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Emulators, ensureStream, startEmulators } from '../../lib/local/emulators';
import {
  type EventSourceMappingEmulator,
  type EventSourceMappingOptions,
  startEventSourceMappings,
} from '../../lib/local/event-source-mapping';
import { readFailureRecords } from '../../lib/local/failure-destination';
import type { ConsumerSettings } from '../../lib/stream';
import { deliveredIds, fixtureState, resetFixtureState } from '../fixtures/state';

const FIXTURES = join(import.meta.dirname, '../fixtures');

const BASE: ConsumerSettings = {
  name: 'test',
  handler: 'consumer',
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  bisectBatchOnError: false,
  retryAttempts: 2,
  maxRecordAgeSeconds: -1,
  reportBatchItemFailures: true,
  parallelizationFactor: 1,
  startingPosition: 'TRIM_HORIZON',
};

let emulators: Emulators;
let streamCount = 0;
let running: EventSourceMappingEmulator[] = [];
let failureDir: string;
const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
});
afterAll(async () => {
  await emulators?.close();
});
beforeEach(async () => {
  resetFixtureState();
  failureDir = await mkdtemp(join(tmpdir(), 'pulse-esm-test-'));
});
afterEach(async () => {
  await Promise.all(running.map((m) => m.stop()));
  running = [];
  await rm(failureDir, { recursive: true, force: true });
});

const newStream = async (shards = 1): Promise<string> => {
  const name = `esm-test-${++streamCount}`;
  await ensureStream(emulators.kinesis, name, Date.now() + 10_000, shards, 24);
  return name;
};

const start = async (
  streamName: string,
  settings: Partial<ConsumerSettings> = {},
  extra: Partial<EventSourceMappingOptions> = {},
) => {
  const esm = await startEventSourceMappings({
    kinesis: emulators.kinesis,
    streamName,
    consumers: [{ ...BASE, ...settings }],
    functionsDir: FIXTURES,
    failureDir,
    pollIntervalMs: 20,
    retryBackoffMs: { min: 5, max: 20 },
    logger,
    ...extra,
  });
  running.push(esm);
  return esm;
};

/** Puts records `{id}` in one PutRecords call, all with the same partition key unless given. */
const put = async (
  streamName: string,
  ids: (string | number)[],
  key: (id: string) => string = () => 'pk',
) => {
  const out = await emulators.kinesis.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: ids.map((i) => ({
        PartitionKey: key(String(i)),
        Data: Buffer.from(JSON.stringify({ id: String(i) })),
      })),
    }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
  return (out.Records ?? []).map((r) => r.SequenceNumber as string);
};

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => String(from + i));

/** Waits on a condition with a deadline (never a fixed sleep). */
const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const failSequence = (id: string) => {
  const record = fixtureState()
    .consumerCalls.flatMap((c) => c.records)
    .find((r) => r.id === id);
  return { itemIdentifier: record?.sequenceNumber };
};

describe('batching', () => {
  it('invokes with at most batchSize records, in order, at once when the window is 0', async () => {
    const stream = await newStream();
    await put(stream, range(0, 12));
    const esm = await start(stream, { batchSize: 5 });
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 5), range(5, 10), range(10, 12)]);
  });

  it('gathers records until the batching window passes', async () => {
    const stream = await newStream();
    const esm = await start(stream, { batchSize: 100, maxBatchingWindowSeconds: 1 });
    const putAt = Date.now();
    for (const id of ['a', 'b', 'c']) {
      await emulators.kinesis.send(
        new PutRecordCommand({
          StreamName: stream,
          PartitionKey: 'pk',
          Data: Buffer.from(JSON.stringify({ id })),
        }),
      );
    }
    await until('one invocation', () => fixtureState().consumerCalls.length > 0);
    await esm.idle();
    expect(deliveredIds()).toEqual([['a', 'b', 'c']]);
    // The window opens when the first record is read, which is after it was put.
    expect(fixtureState().consumerCalls[0]?.at).toBeGreaterThanOrEqual(putAt + 990);
  });

  it('does not wait for the window once a batch is full', async () => {
    const stream = await newStream();
    await put(stream, range(0, 3));
    const started = Date.now();
    const esm = await start(stream, { batchSize: 3, maxBatchingWindowSeconds: 20 });
    await until('one invocation', () => fixtureState().consumerCalls.length > 0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 3)]);
  });

  it('builds the KinesisStreamEvent Lambda sends', async () => {
    const stream = await newStream();
    const [seq] = await put(stream, ['x'], () => 'user-1');
    const esm = await start(stream);
    await esm.idle();
    const call = fixtureState().consumerCalls[0];
    const record = call?.event.Records[0];
    expect(record).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'user-1',
        sequenceNumber: seq,
        data: Buffer.from(JSON.stringify({ id: 'x' })).toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/pulse-local-test-role',
      awsRegion: 'us-east-1',
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
    });
    // Epoch seconds with a fraction, close to now.
    expect(Math.abs((record?.kinesis.approximateArrivalTimestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(call?.functionName).toBe('pulse-local-test');
  });
});

describe('ReportBatchItemFailures', () => {
  it('resumes from the lowest failed sequence number and never redelivers the records before it', async () => {
    const stream = await newStream();
    await put(stream, range(0, 10));
    fixtureState().consumerBehaviour = (_call, i) =>
      i === 0 ? { batchItemFailures: [failSequence('6'), failSequence('3')] } : undefined;
    const esm = await start(stream);
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 10), range(3, 10)]);
  });

  it('fails the whole batch for an itemIdentifier that is not in it, empty or null', async () => {
    for (const bad of [
      { itemIdentifier: 'not-a-sequence-number' },
      { itemIdentifier: '' },
      { itemIdentifier: null },
      {},
    ]) {
      resetFixtureState();
      const stream = await newStream();
      await put(stream, range(0, 4));
      fixtureState().consumerBehaviour = (_call, i) => (i === 0 ? { batchItemFailures: [bad] } : undefined);
      const esm = await start(stream);
      await esm.idle();
      expect(deliveredIds(), JSON.stringify(bad)).toEqual([range(0, 4), range(0, 4)]);
    }
  });

  it('treats an empty or null list, or no answer, as success', async () => {
    const stream = await newStream();
    await put(stream, range(0, 3));
    fixtureState().consumerBehaviour = (_call, i) =>
      [{ batchItemFailures: [] }, { batchItemFailures: null }, null][i];
    const esm = await start(stream, { batchSize: 1 });
    await esm.idle();
    expect(deliveredIds()).toEqual([['0'], ['1'], ['2']]);
  });

  it('ignores a failure list when ReportBatchItemFailures is off', async () => {
    const stream = await newStream();
    await put(stream, range(0, 3));
    fixtureState().consumerBehaviour = (call) => ({
      batchItemFailures: [{ itemIdentifier: call.records[0]?.sequenceNumber }],
    });
    const esm = await start(stream, { reportBatchItemFailures: false });
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 3)]);
  });
});

describe('errors, bisection, retries and the on-failure destination', () => {
  it('bisects a failing batch until the poison record is alone, then sends only it to the destination', async () => {
    const stream = await newStream();
    const seqs = await put(stream, range(0, 8));
    fixtureState().consumerBehaviour = (call) => {
      if (call.records.some((r) => r.id === '5')) throw new Error('poison (expected in tests)');
    };
    const esm = await start(stream, { bisectBatchOnError: true, retryAttempts: 2, batchSize: 8 });
    await esm.idle();

    const succeeded = fixtureState()
      .consumerCalls.filter((c) => !c.records.some((r) => r.id === '5'))
      .flatMap((c) => c.records.map((r) => r.id));
    expect(succeeded).toEqual(['0', '1', '2', '3', '4', '6', '7']);
    expect(deliveredIds().filter((ids) => ids.length === 1 && ids[0] === '5')).toHaveLength(3);

    const failures = await readFailureRecords(failureDir);
    expect(failures).toHaveLength(1);
    const [failure] = failures;
    expect(failure?.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:pulse-local-test',
    });
    expect(failure?.responseContext).toEqual({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    expect(failure?.KinesisBatchInfo).toMatchObject({
      shardId: 'shardId-000000000000',
      startSequenceNumber: seqs[5],
      endSequenceNumber: seqs[5],
      batchSize: 1,
      streamArn: esm.streamArn,
    });
    const payload = JSON.parse(failure?.payload ?? '{}') as KinesisStreamEvent;
    expect(payload.Records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()))).toEqual([
      { id: '5' },
    ]);
  });

  it('retries a throwing batch retryAttempts times, writes it to the destination, then moves on', async () => {
    const stream = await newStream();
    const seqs = await put(stream, range(0, 4));
    let failing = true;
    fixtureState().consumerBehaviour = () => {
      if (failing) throw new Error('down (expected in tests)');
    };
    const esm = await start(stream, { retryAttempts: 2 });
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 4), range(0, 4), range(0, 4)]);

    const [failure, ...more] = await readFailureRecords(failureDir);
    expect(more).toHaveLength(0);
    expect(failure?.key).toMatch(
      new RegExp(
        `^aws/lambda/${esm.uuids.test}/shardId-000000000000/\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`,
      ),
    );
    expect(failure).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      KinesisBatchInfo: {
        startSequenceNumber: seqs[0],
        endSequenceNumber: seqs[3],
        batchSize: 4,
        approximateArrivalOfFirstRecord: expect.stringMatching(
          /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
        ),
      },
    });
    expect(new Date(failure?.timestamp ?? 0).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((JSON.parse(failure?.payload ?? '{}') as KinesisStreamEvent).Records).toHaveLength(4);

    failing = false;
    await put(stream, ['after']);
    await esm.idle();
    expect(deliveredIds().at(-1)).toEqual(['after']);
  });

  it('announces each object it writes to the destination, as S3 does, before it is idle', async () => {
    const stream = await newStream();
    await put(stream, range(0, 2));
    fixtureState().consumerBehaviour = () => {
      throw new Error('down (expected in tests)');
    };
    const announced: { key: string; size: number }[] = [];
    const esm = await start(
      stream,
      { retryAttempts: 0 },
      {
        onFailureWritten: async (key, size) => {
          announced.push({ key, size });
        },
      },
    );
    await esm.idle();
    const [failure, ...more] = await readFailureRecords(failureDir);
    expect(more).toHaveLength(0);
    expect(announced).toEqual([{ key: failure?.key, size: expect.any(Number) }]);
    expect(announced[0]?.size).toBe(Buffer.byteLength(JSON.stringify({ ...failure, key: undefined })));
  });

  it('counts a partial failure as a retry and sends the unprocessed rest to the destination', async () => {
    const stream = await newStream();
    await put(stream, range(0, 5));
    fixtureState().consumerBehaviour = () => ({ batchItemFailures: [failSequence('3')] });
    const esm = await start(stream, { retryAttempts: 1, bisectBatchOnError: true });
    await esm.idle();
    expect(deliveredIds()).toEqual([range(0, 5), range(3, 5)]);
    const [failure] = await readFailureRecords(failureDir);
    expect(failure?.KinesisBatchInfo.batchSize).toBe(2);
    expect(failure?.requestContext.approximateInvokeCount).toBe(2);
    expect(failure?.responseContext.functionError).toBeNull();
  });

  it('sends records older than maxRecordAgeSeconds to the destination without invoking', async () => {
    const stream = await newStream();
    await put(stream, range(0, 3));
    let offset = 120_000;
    const esm = await start(stream, { maxRecordAgeSeconds: 60 }, { clock: () => Date.now() + offset });
    await esm.idle();
    expect(fixtureState().consumerCalls).toHaveLength(0);
    const [failure] = await readFailureRecords(failureDir);
    expect(failure?.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(failure?.KinesisBatchInfo.batchSize).toBe(3);

    offset = 0;
    await put(stream, ['fresh']);
    await esm.idle();
    expect(deliveredIds()).toEqual([['fresh']]);
  });

  it('retries without limit until the records are too old', async () => {
    const stream = await newStream();
    await put(stream, range(0, 2));
    let offset = 0;
    fixtureState().consumerBehaviour = () => {
      throw new Error('down (expected in tests)');
    };
    const esm = await start(
      stream,
      { retryAttempts: -1, maxRecordAgeSeconds: 60 },
      { clock: () => Date.now() + offset },
    );
    await until('a few retries', () => fixtureState().consumerCalls.length >= 3);
    offset = 120_000;
    await esm.idle();
    const [failure] = await readFailureRecords(failureDir);
    expect(failure?.requestContext.condition).toBe('RecordAgeExceeded');
    expect(failure?.requestContext.approximateInvokeCount).toBeGreaterThanOrEqual(3);
    expect(failure?.KinesisBatchInfo.batchSize).toBe(2);
  });
});

describe('shards', () => {
  it('keeps order within a shard and per partition key, across shards and retries', async () => {
    const stream = await newStream(2);
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const put: { id: string; key: string; seq: string; shard: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const key = keys[i % keys.length] as string;
      const out = await emulators.kinesis.send(
        new PutRecordCommand({
          StreamName: stream,
          PartitionKey: key,
          Data: Buffer.from(JSON.stringify({ id: String(i) })),
        }),
      );
      put.push({ id: String(i), key, seq: out.SequenceNumber as string, shard: out.ShardId as string });
    }
    expect(new Set(put.map((p) => p.shard)).size).toBe(2);
    // Each shard fails once partway through its first batch.
    const failed = new Set<string>();
    fixtureState().consumerBehaviour = (call) => {
      const shard = call.records[0]?.shardId as string;
      if (failed.has(shard) || call.records.length < 4) return undefined;
      failed.add(shard);
      return { batchItemFailures: [{ itemIdentifier: call.records[3]?.sequenceNumber }] };
    };
    const esm = await start(stream, { batchSize: 7 });
    await esm.idle();

    // First successful delivery of each record: strictly increasing per shard, and complete.
    const firstSeen = new Map<string, { shard: string; seq: string }>();
    for (const call of fixtureState().consumerCalls) {
      for (const r of call.records)
        if (!firstSeen.has(r.id)) firstSeen.set(r.id, { shard: r.shardId, seq: r.sequenceNumber });
    }
    expect([...firstSeen.keys()].sort()).toEqual(put.map((p) => p.id).sort());
    for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
      const order = fixtureState()
        .consumerCalls.filter((c) => c.records[0]?.shardId === shard)
        .flatMap((c) => c.records.map((r) => BigInt(r.sequenceNumber)));
      // Deliveries on a shard only go back to a retried record, never skip one.
      const expected = put.filter((p) => p.shard === shard).map((p) => p.id);
      const delivered = [
        ...new Set(
          fixtureState()
            .consumerCalls.filter((c) => c.records[0]?.shardId === shard)
            .flatMap((c) => c.records.map((r) => r.id)),
        ),
      ];
      expect(delivered).toEqual(expected);
      expect(order.length).toBeGreaterThan(0);
    }
    for (const key of keys) {
      const ids = [...firstSeen.entries()]
        .filter(([id]) => put.find((p) => p.id === id)?.key === key)
        .map(([id]) => id);
      expect(ids).toEqual(put.filter((p) => p.key === key).map((p) => p.id));
    }
    // One invocation in flight per shard: batches on a shard never contain records of another.
    for (const call of fixtureState().consumerCalls)
      expect(new Set(call.records.map((r) => r.shardId)).size).toBe(1);
  });

  it('re-acquires an expired iterator after the checkpoint, and rides out throttling', async () => {
    const stream = await newStream();
    let inject: 'expired' | 'throttled' | undefined;
    const faults: string[] = [];
    const real = emulators.kinesis;
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: unknown, options?: unknown) => {
          if (command instanceof GetRecordsCommand && inject) {
            const kind = inject;
            inject = undefined;
            faults.push(kind);
            const metadata = { $metadata: {} };
            throw kind === 'expired'
              ? new ExpiredIteratorException({ message: 'Iterator expired (injected)', ...metadata })
              : new ProvisionedThroughputExceededException({
                  message: 'Rate exceeded (injected)',
                  ...metadata,
                });
          }
          return (target.send as (c: unknown, o?: unknown) => Promise<unknown>).call(
            target,
            command,
            options,
          );
        };
      },
    }) as KinesisClient;

    await put(stream, range(0, 5));
    const esm = await start(stream, { batchSize: 3 }, { kinesis: flaky });
    await esm.idle();
    inject = 'expired';
    await put(stream, range(5, 10));
    await until('the expiry to be injected', () => faults.length === 1);
    await esm.idle();
    inject = 'throttled';
    await put(stream, range(10, 12));
    await until('the throttle to be injected', () => faults.length === 2);
    await esm.idle();
    expect(faults).toEqual(['expired', 'throttled']);
    expect(deliveredIds().flat()).toEqual(range(0, 12));
  });

  it('keeps checkpoints in checkpointFile across a restart', async () => {
    const stream = await newStream();
    const checkpointFile = join(failureDir, 'checkpoints.json');
    await put(stream, range(0, 5));
    const first = await start(stream, {}, { checkpointFile });
    await first.idle();
    await first.stop();
    expect(deliveredIds().flat()).toEqual(range(0, 5));

    await put(stream, ['5']);
    const second = await start(stream, {}, { checkpointFile });
    await second.idle();
    expect(deliveredIds().flat()).toEqual(range(0, 6));
    expect(second.state()[0]?.checkpoint).toBeTruthy();
  });

  it('starts at LATEST when told to', async () => {
    const stream = await newStream();
    await put(stream, ['old']);
    const esm = await start(stream, { startingPosition: 'LATEST' });
    await esm.idle();
    await put(stream, ['new']);
    await esm.idle();
    expect(deliveredIds()).toEqual([['new']]);
  });
});
