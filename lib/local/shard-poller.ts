/**
 * One shard of one consumer in the local event source mapping: reads records in order, gathers
 * them into batches, invokes the consumer, and carries out what stream-batch-policy.ts decides —
 * retry, bisect, or hand records to the on-failure destination — moving the checkpoint only past
 * records that succeeded or went to the destination. One batch in flight (ParallelizationFactor 1);
 * a batch is held in memory while it is retried.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  InvalidArgumentException,
  type _Record as KinesisRecord,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { ConsumerSettings } from '../stream';
import { type CheckpointStore, SHARD_END } from './checkpoint-store';
import type { EventSourceMappingOptions } from './event-source-mapping';
import { type FailureCondition, failureKey, failureRecord, writeFailureRecord } from './failure-destination';
import { kinesisStreamEvent } from './kinesis-event';
import { functionArn, type HandlerResolver, invokeHandler, localFunctionName } from './lambda';
import {
  expiredCount,
  type InvocationOutcome,
  interpretResponse,
  isFullBatch,
  nextBatchLength,
  nextStep,
  retryDelayMs,
} from './stream-batch-policy';

/** What every poller of one consumer shares. */
export interface PollerContext {
  options: EventSourceMappingOptions;
  consumer: ConsumerSettings;
  /** The mapping's UUID: part of the destination object keys. */
  uuid: string;
  streamArn: string;
  region: string;
  resolveHandler: HandlerResolver;
  checkpoints: CheckpointStore;
  clock: () => number;
  logger: Pick<Console, 'info' | 'warn' | 'error'>;
  signal: AbortSignal;
  onShardEnd: () => void;
}

/** A batch, or a half of one, being retried. */
interface SubBatch {
  records: KinesisRecord[];
  retries: number;
  invocations: number;
  lastRequestId?: string;
  lastFunctionError?: string | null;
}

/** Settles with the promise, or rejects as soon as the signal aborts. */
const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise((resolve, reject) => {
    const fail = () => reject(new Error('stopped'));
    if (signal.aborted) return fail();
    signal.addEventListener('abort', fail, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', fail));
  });

const errorName = (err: unknown): string => (err instanceof Error ? err.name : typeof err);
const isThrottle = (err: unknown) =>
  ['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException'].includes(
    errorName(err),
  );

export class ShardPoller {
  checkpoint: string | undefined;
  private buffer: KinesisRecord[] = [];
  private inFlight = 0;
  private windowStart: number | undefined;
  /** performance.now() at the start of the last empty read, while holding nothing; else undefined. */
  caughtUpSince: number | undefined;
  finished = false;
  invocations = 0;
  lastError: string | undefined;
  done: Promise<void>;
  private resolveDone!: () => void;
  /** Consecutive failed tries: the retry pause doubles with each. */
  private backoff = 0;

  constructor(
    readonly ctx: PollerContext,
    readonly shard: Shard,
    private readonly parents: Promise<void>[],
  ) {
    this.checkpoint = ctx.checkpoints.get(ctx.consumer.name, this.shardId);
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
  }

  get shardId(): string {
    return this.shard.ShardId as string;
  }

  get pending(): number {
    return this.buffer.length + this.inFlight;
  }

  get idleSince(): number | undefined {
    if (this.finished) return Number.NEGATIVE_INFINITY;
    return this.pending === 0 ? this.caughtUpSince : undefined;
  }

  async run(): Promise<void> {
    try {
      await Promise.all(this.parents);
      if (this.checkpoint === SHARD_END) {
        this.finish();
        return;
      }
      while (!this.ctx.signal.aborted) {
        try {
          await this.loop();
          return;
        } catch (err) {
          if (this.ctx.signal.aborted) return;
          // Start over from the checkpoint: whatever was held in memory is read again.
          this.ctx.logger.error(
            `[local esm] ${this.label}: poller failed; restarting from the checkpoint`,
            err,
          );
          this.lastError = String(err);
          this.buffer = [];
          this.inFlight = 0;
          this.windowStart = undefined;
          this.caughtUpSince = undefined;
          await this.wait(1000);
        }
      }
    } finally {
      this.resolveDone();
    }
  }

  private get label() {
    return `${this.ctx.consumer.name}/${this.shardId}`;
  }

  private async wait(ms: number) {
    await sleep(ms, undefined, { signal: this.ctx.signal }).catch(() => undefined);
  }

  private async acquireIterator(): Promise<string | undefined> {
    const { kinesis, streamName } = this.ctx.options;
    // Resume after the last record held in memory, else after the checkpoint, else at the start.
    const after = this.buffer.at(-1)?.SequenceNumber ?? this.checkpoint;
    const input: GetShardIteratorCommandInput = after
      ? {
          StreamName: streamName,
          ShardId: this.shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          StartingSequenceNumber: after,
        }
      : {
          StreamName: streamName,
          ShardId: this.shardId,
          ShardIteratorType: this.ctx.consumer.startingPosition,
        };
    try {
      const out = await kinesis.send(new GetShardIteratorCommand(input), { abortSignal: this.ctx.signal });
      return out.ShardIterator;
    } catch (err) {
      if (after && err instanceof InvalidArgumentException && !this.buffer.length) {
        // A checkpoint from another incarnation of the stream: start over as configured.
        this.ctx.logger.warn(
          `[local esm] ${this.label}: checkpoint ${after} not in this stream; starting at ${this.ctx.consumer.startingPosition}`,
        );
        this.checkpoint = undefined;
        return this.acquireIterator();
      }
      throw err;
    }
  }

  private async loop() {
    const { consumer, options } = this.ctx;
    const pollInterval = options.pollIntervalMs ?? 100;
    const windowMs = consumer.maxBatchingWindowSeconds * 1000;
    let iterator: string | undefined;
    let shardClosed = false;

    while (!this.ctx.signal.aborted) {
      if (!shardClosed && !isFullBatch(this.buffer, consumer.batchSize)) {
        const readStartedAt = performance.now();
        try {
          iterator ??= await this.acquireIterator();
          if (iterator === undefined) {
            shardClosed = true;
          } else {
            const out = await options.kinesis.send(
              new GetRecordsCommand({
                ShardIterator: iterator,
                Limit: Math.min(10_000, consumer.batchSize - this.buffer.length),
              }),
              { abortSignal: this.ctx.signal },
            );
            iterator = out.NextShardIterator;
            if (iterator === undefined) shardClosed = true;
            const records = out.Records ?? [];
            if (records.length) {
              this.caughtUpSince = undefined;
              this.windowStart ??= performance.now();
              this.buffer.push(...records);
            } else if (this.pending === 0) {
              this.caughtUpSince = readStartedAt;
            }
            this.lastError = undefined;
          }
        } catch (err) {
          if (this.ctx.signal.aborted) return;
          this.lastError = `${errorName(err)}: ${(err as Error).message}`;
          if (err instanceof ExpiredIteratorException) {
            iterator = undefined;
            continue;
          }
          if (!isThrottle(err)) this.ctx.logger.warn(`[local esm] ${this.label}: GetRecords failed`, err);
          await this.wait(isThrottle(err) ? 1000 : 500);
          continue;
        }
      }

      const full = isFullBatch(this.buffer, consumer.batchSize);
      const windowOver = this.windowStart !== undefined && performance.now() - this.windowStart >= windowMs;
      if (this.buffer.length && (full || windowOver || shardClosed)) {
        await this.processBatch(this.buffer.splice(0, nextBatchLength(this.buffer, consumer.batchSize)));
        this.windowStart = this.buffer.length ? performance.now() : undefined;
        continue;
      }
      if (shardClosed && !this.buffer.length) {
        this.checkpoint = SHARD_END;
        this.ctx.checkpoints.set(consumer.name, this.shardId, SHARD_END);
        this.finish();
        this.ctx.onShardEnd();
        return;
      }
      if (this.buffer.length && this.windowStart !== undefined) {
        await this.wait(
          Math.max(1, Math.min(pollInterval, windowMs - (performance.now() - this.windowStart))),
        );
      } else {
        await this.wait(pollInterval);
      }
    }
  }

  private finish() {
    this.finished = true;
    this.caughtUpSince = Number.NEGATIVE_INFINITY;
  }

  private commit(record: KinesisRecord | undefined) {
    if (!record?.SequenceNumber) return;
    this.checkpoint = record.SequenceNumber;
    this.ctx.checkpoints.set(this.ctx.consumer.name, this.shardId, record.SequenceNumber);
  }

  private event(records: readonly KinesisRecord[]) {
    const { region, streamArn, consumer } = this.ctx;
    return kinesisStreamEvent(records, { shardId: this.shardId, streamArn, region, consumer: consumer.name });
  }

  private async retryPause() {
    const ms = retryDelayMs(this.backoff, this.ctx.options.retryBackoffMs ?? { min: 50, max: 1000 });
    this.backoff++;
    await this.wait(ms);
  }

  /** Runs one batch to completion: success, or every record checkpointed past via the destination. */
  private async processBatch(records: KinesisRecord[]) {
    const { consumer } = this.ctx;
    this.inFlight = records.length;
    const queue: SubBatch[] = [{ records, retries: 0, invocations: 0 }];
    try {
      while (queue.length) {
        if (this.ctx.signal.aborted) return;
        const sub = queue[0] as SubBatch;

        const expired = expiredCount(sub.records, this.ctx.clock(), consumer.maxRecordAgeSeconds);
        if (expired) {
          const old = sub.records.splice(0, expired);
          await this.sendToDestination(old, 'RecordAgeExceeded', sub);
          this.settle(old);
          if (!sub.records.length) {
            queue.shift();
            continue;
          }
        }

        const outcome = await this.invoke(sub);
        if (this.ctx.signal.aborted) return;
        const step = nextStep(outcome, sub.records.length, sub.retries, consumer);
        switch (step.kind) {
          case 'done':
            this.settle(sub.records);
            queue.shift();
            this.backoff = 0;
            break;
          case 'bisect':
            queue.splice(
              0,
              1,
              { records: sub.records.slice(0, step.at), retries: sub.retries, invocations: 0 },
              { records: sub.records.slice(step.at), retries: sub.retries, invocations: 0 },
            );
            await this.retryPause();
            break;
          case 'retry':
            this.settle(sub.records.splice(0, step.settled));
            sub.retries = step.retries;
            await this.retryPause();
            break;
          case 'give-up':
            this.settle(sub.records.splice(0, step.settled));
            sub.retries = step.retries;
            await this.sendToDestination(sub.records, 'RetryAttemptsExhausted', sub);
            this.settle(sub.records);
            queue.shift();
            this.backoff = 0;
            break;
        }
      }
    } finally {
      this.inFlight = 0;
    }
  }

  /** Records leave the poller: checkpoint past the last of them. */
  private settle(records: KinesisRecord[]) {
    if (!records.length) return;
    this.commit(records.at(-1));
    this.inFlight = Math.max(0, this.inFlight - records.length);
  }

  private async invoke(sub: SubBatch): Promise<InvocationOutcome> {
    const { consumer, options, region } = this.ctx;
    const functionName = localFunctionName(consumer.name);
    const requestId = randomUUID();
    sub.invocations++;
    sub.lastRequestId = requestId;
    this.invocations++;
    try {
      const handler = await this.ctx.resolveHandler(consumer.handler);
      const invocation = invokeHandler(handler, this.event(sub.records), {
        handlerModule: consumer.handler,
        functionName,
        region,
        requestId,
        timeoutMs: options.functionTimeoutMs ?? 60_000,
      });
      // stop() does not wait for a hung handler: its batch is simply not checkpointed.
      const { result } = await untilAborted(invocation, this.ctx.signal);
      const outcome = interpretResponse(result, sub.records, consumer.reportBatchItemFailures);
      sub.lastFunctionError = outcome.kind === 'failure' ? outcome.functionError : null;
      if (outcome.kind === 'failure') {
        this.ctx.logger.warn(
          `[local esm] ${this.label}: invalid batch response, whole batch failed: ${outcome.reason}`,
        );
      }
      return outcome;
    } catch (err) {
      sub.lastFunctionError = 'Unhandled';
      this.ctx.logger.warn(
        `[local esm] ${this.label}: ${functionName} failed on ${sub.records.length} record(s)`,
        err,
      );
      return { kind: 'failure', functionError: 'Unhandled', reason: String(err) };
    }
  }

  private async sendToDestination(records: KinesisRecord[], condition: FailureCondition, sub: SubBatch) {
    const { consumer, streamArn, region, uuid, options } = this.ctx;
    const now = new Date();
    const record = failureRecord(
      {
        records,
        condition,
        shardId: this.shardId,
        streamArn,
        functionArn: functionArn(region, localFunctionName(consumer.name)),
        requestId: sub.lastRequestId,
        invocations: sub.invocations,
        functionError: sub.lastFunctionError,
        payload: JSON.stringify(this.event(records)),
      },
      now,
    );
    const key = failureKey(uuid, this.shardId, now);
    let size: number;
    try {
      const written = await writeFailureRecord(options.failureDir, key, record);
      size = written.size;
      this.ctx.logger.warn(
        `[local esm] ${this.label}: ${records.length} record(s) sent to the on-failure destination (${condition}): ${written.file}`,
      );
    } catch (err) {
      // Lambda discards the records when the destination cannot take them; so do we, loudly.
      this.ctx.logger.error(
        `[local esm] ${this.label}: could not write ${options.failureDir}/${key}; records discarded`,
        err,
      );
      return;
    }
    // As S3 announces a new object: the local stack runs the failure index with it.
    try {
      await options.onFailureWritten?.(key, size);
    } catch (err) {
      this.ctx.logger.error(`[local esm] ${this.label}: the notification of ${key} failed`, err);
    }
  }
}
