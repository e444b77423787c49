/**
 * The event source mapping's decisions, pure: batch sizing, reading ReportBatchItemFailures
 * answers, record age, and retry / bisect / give-up after a failed invocation, as Lambda documents
 * them. The poller that carries them out runs against kinesalite in test/integration/local-esm.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from '../../lib/local/lambda';
import {
  expiredCount,
  interpretResponse,
  isFullBatch,
  nextBatchLength,
  nextStep,
  recordSize,
  retryDelayMs,
} from '../../lib/local/stream-batch-policy';

const record = (seq: number, bytes = 10, arrivedAt = 0): KinesisRecord => ({
  SequenceNumber: String(seq),
  PartitionKey: 'p',
  Data: new Uint8Array(bytes),
  ApproximateArrivalTimestamp: new Date(arrivedAt),
});
const records = (n: number, bytes = 10) => Array.from({ length: n }, (_, i) => record(i + 1, bytes));

describe('batch sizing', () => {
  it('takes up to batchSize records', () => {
    expect(nextBatchLength(records(7), 5)).toBe(5);
    expect(nextBatchLength(records(3), 5)).toBe(3);
    expect(isFullBatch(records(5), 5)).toBe(true);
    expect(isFullBatch(records(4), 5)).toBe(false);
  });

  it("stops at Lambda's 6 MB payload, but always takes at least one record", () => {
    // Data is base64 in the event: 1.5 MB of data makes 2 MB of payload.
    const big = records(4, 1.5 * 1024 * 1024);
    expect(recordSize(big[0] as KinesisRecord)).toBeGreaterThan(2 * 1024 * 1024);
    expect(nextBatchLength(big, 100)).toBe(2);
    expect(isFullBatch(big.slice(0, 3), 100)).toBe(true);
    const huge = records(2, LAMBDA_PAYLOAD_LIMIT_BYTES);
    expect(nextBatchLength(huge, 100)).toBe(1);
  });
});

describe('record age', () => {
  const batch = [record(1, 10, 1_000), record(2, 10, 2_000), record(3, 10, 9_000)];

  it('expires the records that arrived more than maxRecordAgeSeconds ago, a prefix', () => {
    expect(expiredCount(batch, 10_000, 5)).toBe(2);
    expect(expiredCount(batch, 10_000, 9)).toBe(0);
    expect(expiredCount(batch, 100_000, 5)).toBe(3);
  });

  it('never expires anything at -1', () => {
    expect(expiredCount(batch, Number.MAX_SAFE_INTEGER, -1)).toBe(0);
  });
});

describe('interpretResponse (ReportBatchItemFailures)', () => {
  const batch = records(4);

  it('reads the lowest failed sequence number', () => {
    expect(
      interpretResponse(
        { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] },
        batch,
        true,
      ),
    ).toEqual({ kind: 'partial', index: 1 });
  });

  it('treats no answer, an empty or null list as success', () => {
    for (const answer of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }])
      expect(interpretResponse(answer, batch, true)).toEqual({ kind: 'success' });
  });

  it('fails the whole batch for an identifier that is missing, empty or not in the batch', () => {
    for (const failures of [
      [{}],
      [{ itemIdentifier: '' }],
      [{ itemIdentifier: null }],
      [{ itemIdentifier: '9' }],
      'x',
    ])
      expect(interpretResponse({ batchItemFailures: failures }, batch, true)).toMatchObject({
        kind: 'failure',
        functionError: null,
      });
  });

  it('ignores the answer when ReportBatchItemFailures is off', () => {
    expect(interpretResponse({ batchItemFailures: [{ itemIdentifier: '1' }] }, batch, false)).toEqual({
      kind: 'success',
    });
  });
});

describe('nextStep', () => {
  const failure = { kind: 'failure', functionError: 'Unhandled', reason: 'boom' } as const;
  const settings = { bisectBatchOnError: false, retryAttempts: 2 };

  it('is done when every record succeeded', () => {
    expect(nextStep({ kind: 'success' }, 10, 5, settings)).toEqual({ kind: 'done' });
  });

  it('retries a failed batch retryAttempts times, then gives it up', () => {
    expect(nextStep(failure, 10, 0, settings)).toEqual({ kind: 'retry', settled: 0, retries: 1 });
    expect(nextStep(failure, 10, 1, settings)).toEqual({ kind: 'retry', settled: 0, retries: 2 });
    expect(nextStep(failure, 10, 2, settings)).toEqual({ kind: 'give-up', settled: 0, retries: 3 });
  });

  it('retries without limit at retryAttempts -1', () => {
    expect(nextStep(failure, 10, 10_000, { ...settings, retryAttempts: -1 })).toMatchObject({
      kind: 'retry',
    });
  });

  it('settles the records before a partial failure, and counts the rest as retried', () => {
    expect(nextStep({ kind: 'partial', index: 3 }, 10, 0, settings)).toEqual({
      kind: 'retry',
      settled: 3,
      retries: 1,
    });
    expect(nextStep({ kind: 'partial', index: 3 }, 10, 2, settings)).toEqual({
      kind: 'give-up',
      settled: 3,
      retries: 3,
    });
  });

  it('bisects a failed batch of more than one record without spending a retry', () => {
    const bisect = { ...settings, bisectBatchOnError: true };
    expect(nextStep(failure, 5, 2, bisect)).toEqual({ kind: 'bisect', at: 3 });
    expect(nextStep(failure, 2, 0, bisect)).toEqual({ kind: 'bisect', at: 1 });
    // Alone, the poison record is retried, then given up.
    expect(nextStep(failure, 1, 2, bisect)).toEqual({ kind: 'give-up', settled: 0, retries: 3 });
  });

  it('never bisects a partial failure', () => {
    const bisect = { ...settings, bisectBatchOnError: true };
    expect(nextStep({ kind: 'partial', index: 1 }, 5, 0, bisect)).toMatchObject({ kind: 'retry' });
  });
});

describe('retryDelayMs', () => {
  const backoff = { min: 50, max: 1000 };

  it('doubles from min to max, half of it jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, backoff, () => 0))).toEqual([
      25, 50, 100, 200, 400, 500, 500,
    ]);
    expect(retryDelayMs(2, backoff, () => 0.999_999)).toBeCloseTo(200, 2);
  });
});
