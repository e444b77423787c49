/**
 * What Lambda's event source mapping decides about a Kinesis batch, as pure functions: how many
 * buffered records make a batch, how a consumer's answer reads (ReportBatchItemFailures), which
 * records are too old to invoke with, and after a failed invocation whether to retry, bisect or
 * give the records up to the on-failure destination, with how long to wait before the next try.
 * The poller (shard-poller.ts) does the I/O around these decisions.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { ConsumerSettings } from '../stream';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from './lambda';

/** Size a record adds to the invocation payload (its data in base64 plus the envelope). */
export const recordSize = (r: KinesisRecord): number => Math.ceil(((r.Data?.length ?? 0) * 4) / 3) + 600;

export const payloadBytes = (records: readonly KinesisRecord[]): number => {
  let n = 0;
  for (const r of records) n += recordSize(r);
  return n;
};

/** The buffer holds a full batch: batchSize records, or Lambda's 6 MB payload. */
export const isFullBatch = (buffer: readonly KinesisRecord[], batchSize: number): boolean =>
  buffer.length >= batchSize || payloadBytes(buffer) >= LAMBDA_PAYLOAD_LIMIT_BYTES;

/** How many buffered records the next batch takes: up to batchSize and 6 MB, at least one. */
export const nextBatchLength = (buffer: readonly KinesisRecord[], batchSize: number): number => {
  let size = 0;
  let n = 0;
  while (n < buffer.length && n < batchSize) {
    size += recordSize(buffer[n] as KinesisRecord);
    if (n > 0 && size > LAMBDA_PAYLOAD_LIMIT_BYTES) break;
    n++;
  }
  return n;
};

/**
 * How many records at the head of a batch arrived more than maxRecordAgeSeconds before `now`
 * (-1: no limit). Records are in arrival order, so the old ones are a prefix.
 */
export const expiredCount = (
  records: readonly KinesisRecord[],
  now: number,
  maxRecordAgeSeconds: number,
): number => {
  if (maxRecordAgeSeconds < 0) return 0;
  const cutoff = now - maxRecordAgeSeconds * 1000;
  let n = 0;
  while (n < records.length && (records[n]?.ApproximateArrivalTimestamp?.getTime() ?? 0) < cutoff) n++;
  return n;
};

export type InvocationOutcome =
  | { kind: 'success' }
  /** Records before `index` (the lowest reported failure) succeeded. */
  | { kind: 'partial'; index: number }
  | { kind: 'failure'; functionError: string | null; reason: string };

/** How Lambda reads a consumer's answer (ReportBatchItemFailures semantics). */
export const interpretResponse = (
  response: unknown,
  records: readonly KinesisRecord[],
  reportBatchItemFailures: boolean,
): InvocationOutcome => {
  if (!reportBatchItemFailures || response == null || typeof response !== 'object')
    return { kind: 'success' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures == null || (Array.isArray(failures) && failures.length === 0)) return { kind: 'success' };
  const invalid = (reason: string): InvocationOutcome => ({ kind: 'failure', functionError: null, reason });
  if (!Array.isArray(failures)) return invalid('batchItemFailures is not a list');
  let lowest = Number.POSITIVE_INFINITY;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return invalid('an itemIdentifier is empty, null or missing');
    const index = records.findIndex((r) => r.SequenceNumber === id);
    if (index === -1) return invalid(`itemIdentifier ${id} is not in the batch`);
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', index: lowest };
};

/** What to do with a batch (or a half of one) after an invocation. */
export type NextStep =
  /** Every record succeeded. */
  | { kind: 'done' }
  /** Split after `at` records; both halves keep the retry count (splitting is not a retry). */
  | { kind: 'bisect'; at: number }
  /** The first `settled` records are done; invoke again with the rest after a pause. */
  | { kind: 'retry'; settled: number; retries: number }
  /** The first `settled` records are done; the rest go to the destination (RetryAttemptsExhausted). */
  | { kind: 'give-up'; settled: number; retries: number };

export type RetrySettings = Pick<ConsumerSettings, 'bisectBatchOnError' | 'retryAttempts'>;

/**
 * Lambda's policy after an invocation of `size` records that had been retried `retries` times.
 * A partial failure is never bisected: Lambda retries from the lowest failed record on, and that
 * counts as a retry. A whole-batch failure is bisected first while bisection is on and the batch
 * has more than one record. retryAttempts -1 retries without limit (until records are too old).
 */
export const nextStep = (
  outcome: InvocationOutcome,
  size: number,
  retries: number,
  settings: RetrySettings,
): NextStep => {
  if (outcome.kind === 'success') return { kind: 'done' };
  if (outcome.kind === 'failure' && settings.bisectBatchOnError && size > 1)
    return { kind: 'bisect', at: Math.ceil(size / 2) };
  const settled = outcome.kind === 'partial' ? outcome.index : 0;
  const next = retries + 1;
  return settings.retryAttempts >= 0 && next > settings.retryAttempts
    ? { kind: 'give-up', settled, retries: next }
    : { kind: 'retry', settled, retries: next };
};

/**
 * Pause before the next try: doubling from min to max with each consecutive failure, half of it
 * jitter, so several failing shards do not retry in lockstep. `random` in [0, 1).
 */
export const retryDelayMs = (
  failures: number,
  backoff: { min: number; max: number },
  random: () => number = Math.random,
): number => {
  const ms = Math.min(backoff.max, backoff.min * 2 ** failures);
  return ms / 2 + random() * (ms / 2);
};
