/**
 * Lambda's event source mapping for Kinesis, emulated: one poller per shard per consumer, with
 * the consumer's declared settings (lib/stream.ts) applied as Lambda applies them — batch size and
 * batching window, ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts,
 * MaximumRecordAgeInSeconds — and an S3-shaped on-failure destination in a local folder.
 *
 * Per shard: records in order, one batch in flight (ParallelizationFactor 1). A batch is held in
 * memory while it is retried; the shard position (checkpoint) only moves past records that
 * succeeded or were sent to the destination.
 */

import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamSummaryCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  InvalidArgumentException,
  type KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { DEFAULTS } from '../config';
import { type ConsumerSettings, streamConsumers } from '../stream';
import {
  createHandlerResolver,
  functionArn,
  type HandlerResolver,
  invokeHandler,
  LAMBDA_PAYLOAD_LIMIT_BYTES,
  LOCAL_ACCOUNT_ID,
  localFunctionName,
} from './lambda';

export interface EventSourceMappingOptions {
  kinesis: KinesisClient;
  streamName: string;
  /** Default: as the stream describes itself. */
  streamArn?: string;
  /** Default: streamConsumers of lib/stream.ts. */
  consumers?: readonly ConsumerSettings[];
  /** Folder of handler modules (default `<repo>/functions`); ignored when resolveHandler is given. */
  functionsDir?: string;
  resolveHandler?: HandlerResolver;
  /** Folder standing in for the on-failure S3 bucket. */
  failureDir: string;
  /** Keeps each shard's checkpoint across restarts (as the real mapping does); none by default. */
  checkpointFile?: string;
  region?: string;
  /** Function timeout for the consumers (default 60 s). */
  functionTimeoutMs?: number;
  /** Pause between polls of a shard that had nothing new (default 100 ms; Lambda: about 1 s). */
  pollIntervalMs?: number;
  /** Backoff between retries of a failed batch, doubling from min to max (default 50 ms .. 1 s). */
  retryBackoffMs?: { min: number; max: number };
  /** Clock for record age only (tests move it); default Date.now. Windows use a monotonic clock. */
  clock?: () => number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
}

export interface PollerState {
  consumer: string;
  shardId: string;
  /** Last sequence number processed or sent to the destination. */
  checkpoint?: string;
  /** Records read and not yet checkpointed (in the window buffer or in flight). */
  pending: number;
  invocations: number;
  caughtUp: boolean;
  finished: boolean;
  lastError?: string;
}

export interface EventSourceMappingEmulator {
  /** Mapping UUID per consumer name (part of the destination object keys). */
  readonly uuids: Readonly<Record<string, string>>;
  readonly streamArn: string;
  /**
   * Resolves once every poller has read its shard to the end as of this call (a read begun after
   * the call came back empty) and holds no records: nothing buffered, in flight or being retried.
   */
  idle(options?: { timeoutMs?: number }): Promise<void>;
  state(): PollerState[];
  stop(): Promise<void>;
}

/** What Lambda writes to an S3 on-failure destination for a Kinesis batch. */
export interface FailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError: string | null };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
  /** The invocation event (KinesisStreamEvent) as a JSON string: S3 destinations only. */
  payload: string;
}

/** Reads every failure record under a destination folder, oldest object key first. */
export const readFailureRecords = async (
  failureDir: string,
): Promise<(FailureRecord & { key: string })[]> => {
  const out: (FailureRecord & { key: string })[] = [];
  const walk = async (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), key);
      else if (!e.name.endsWith('.tmp')) {
        out.push({ ...(JSON.parse(await readFile(join(dir, e.name), 'utf8')) as FailureRecord), key });
      }
    }
  };
  await walk(failureDir, '');
  return out.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.key.localeCompare(b.key));
};

/** A stable UUID-shaped id per consumer and stream, so destination keys stay put across restarts. */
const mappingUuid = (consumer: string, streamArn: string): string => {
  const h = createHash('sha256').update(`${streamArn}|${consumer}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** Destination key, as Lambda names S3 objects: aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>. */
const failureKey = (uuid: string, shardId: string, at: Date): string => {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replace(/:/g, '.');
  return `aws/lambda/${uuid}/${shardId}/${day.replace(/-/g, '/')}/${day}T${time}-${randomUUID()}`;
};

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

/** Size a record adds to the invocation payload (its data in base64 plus the envelope). */
const recordSize = (r: KinesisRecord) => Math.ceil(((r.Data?.length ?? 0) * 4) / 3) + 600;

type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; index: number }
  | { kind: 'failure'; functionError: string | null; reason: string };

/** How Lambda reads a consumer's answer (ReportBatchItemFailures semantics). */
export const interpretResponse = (
  response: unknown,
  records: readonly KinesisRecord[],
  reportBatchItemFailures: boolean,
): Outcome => {
  if (!reportBatchItemFailures || response == null || typeof response !== 'object')
    return { kind: 'success' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures == null || (Array.isArray(failures) && failures.length === 0)) return { kind: 'success' };
  const invalid = (reason: string): Outcome => ({ kind: 'failure', functionError: null, reason });
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

class CheckpointStore {
  private data: Record<string, Record<string, string>> = {};
  private writing: Promise<void> = Promise.resolve();
  constructor(
    private readonly file: string | undefined,
    private readonly streamKey: string,
  ) {}

  async load() {
    if (!this.file) return;
    try {
      const all = JSON.parse(await readFile(this.file, 'utf8')) as Record<
        string,
        Record<string, Record<string, string>>
      >;
      this.data = all[this.streamKey] ?? {};
    } catch {
      this.data = {};
    }
  }

  get(consumer: string, shardId: string): string | undefined {
    return this.data[consumer]?.[shardId];
  }

  set(consumer: string, shardId: string, value: string) {
    this.data[consumer] = { ...this.data[consumer], [shardId]: value };
    const file = this.file;
    if (!file) return;
    // Writes are chained so the file always holds the latest complete state.
    this.writing = this.writing.then(async () => {
      let all: Record<string, unknown> = {};
      try {
        all = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      } catch {}
      all[this.streamKey] = this.data;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, JSON.stringify(all, null, 2));
      await rename(`${file}.tmp`, file);
    });
    this.writing.catch(() => undefined);
  }

  flush() {
    return this.writing.catch(() => undefined);
  }
}

/** Sentinel checkpoint for a shard whose records have all been consumed and which is closed. */
const SHARD_END = 'SHARD_END';

interface Context {
  options: EventSourceMappingOptions;
  consumer: ConsumerSettings;
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

interface SubBatch {
  records: KinesisRecord[];
  retries: number;
  invocations: number;
  lastRequestId?: string;
  lastFunctionError?: string | null;
}

class ShardPoller {
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
  private backoff = 0;

  constructor(
    readonly ctx: Context,
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
      if (
        !shardClosed &&
        this.buffer.length < consumer.batchSize &&
        this.bufferBytes() < LAMBDA_PAYLOAD_LIMIT_BYTES
      ) {
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

      const full =
        this.buffer.length >= consumer.batchSize || this.bufferBytes() >= LAMBDA_PAYLOAD_LIMIT_BYTES;
      const windowOver = this.windowStart !== undefined && performance.now() - this.windowStart >= windowMs;
      if (this.buffer.length && (full || windowOver || shardClosed)) {
        await this.processBatch(this.takeBatch());
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

  private bufferBytes() {
    let n = 0;
    for (const r of this.buffer) n += recordSize(r);
    return n;
  }

  /** Up to batchSize records and Lambda's 6 MB payload, at least one. */
  private takeBatch(): KinesisRecord[] {
    let size = 0;
    let n = 0;
    while (n < this.buffer.length && n < this.ctx.consumer.batchSize) {
      size += recordSize(this.buffer[n] as KinesisRecord);
      if (n > 0 && size > LAMBDA_PAYLOAD_LIMIT_BYTES) break;
      n++;
    }
    return this.buffer.splice(0, n);
  }

  private commit(record: KinesisRecord | undefined) {
    if (!record?.SequenceNumber) return;
    this.checkpoint = record.SequenceNumber;
    this.ctx.checkpoints.set(this.ctx.consumer.name, this.shardId, record.SequenceNumber);
  }

  private event(records: readonly KinesisRecord[]): KinesisStreamEvent {
    const { region, streamArn, consumer } = this.ctx;
    return {
      Records: records.map(
        (r): KinesisStreamRecord => ({
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: r.PartitionKey as string,
            sequenceNumber: r.SequenceNumber as string,
            data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
            approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `${this.shardId}:${r.SequenceNumber}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${localFunctionName(consumer.name)}-role`,
          awsRegion: region,
          eventSourceARN: streamArn,
        }),
      ),
    };
  }

  private async retryPause() {
    const { min, max } = this.ctx.options.retryBackoffMs ?? { min: 50, max: 1000 };
    const ms = Math.min(max, min * 2 ** this.backoff);
    this.backoff++;
    // Jitter keeps several failing shards from retrying in lockstep.
    await this.wait(ms / 2 + Math.random() * (ms / 2));
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

        if (consumer.maxRecordAgeSeconds >= 0) {
          const cutoff = this.ctx.clock() - consumer.maxRecordAgeSeconds * 1000;
          let n = 0;
          while (
            n < sub.records.length &&
            (sub.records[n]?.ApproximateArrivalTimestamp?.getTime() ?? 0) < cutoff
          )
            n++;
          if (n) {
            const expired = sub.records.splice(0, n);
            await this.sendToDestination(expired, 'RecordAgeExceeded', sub);
            this.settle(expired);
            if (!sub.records.length) {
              queue.shift();
              continue;
            }
          }
        }

        const outcome = await this.invoke(sub);
        if (this.ctx.signal.aborted) return;
        if (outcome.kind === 'success') {
          this.settle(sub.records);
          queue.shift();
          this.backoff = 0;
          continue;
        }

        if (outcome.kind === 'partial') {
          // Records before the lowest reported failure are done; Lambda retries from it on.
          this.settle(sub.records.splice(0, outcome.index));
        } else if (consumer.bisectBatchOnError && sub.records.length > 1) {
          // Splitting does not consume the retry quota.
          const half = Math.ceil(sub.records.length / 2);
          queue.splice(
            0,
            1,
            { records: sub.records.slice(0, half), retries: sub.retries, invocations: 0 },
            { records: sub.records.slice(half), retries: sub.retries, invocations: 0 },
          );
          await this.retryPause();
          continue;
        }

        sub.retries++;
        if (consumer.retryAttempts >= 0 && sub.retries > consumer.retryAttempts) {
          await this.sendToDestination(sub.records, 'RetryAttemptsExhausted', sub);
          this.settle(sub.records);
          queue.shift();
          this.backoff = 0;
          continue;
        }
        await this.retryPause();
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

  private async invoke(sub: SubBatch): Promise<Outcome> {
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

  private async sendToDestination(
    records: KinesisRecord[],
    condition: FailureRecord['requestContext']['condition'],
    sub: SubBatch,
  ) {
    const { consumer, streamArn, region, uuid, options } = this.ctx;
    const first = records[0] as KinesisRecord;
    const last = records.at(-1) as KinesisRecord;
    const now = new Date();
    const record: FailureRecord = {
      requestContext: {
        requestId: sub.lastRequestId ?? randomUUID(),
        functionArn: functionArn(region, localFunctionName(consumer.name)),
        condition,
        approximateInvokeCount: sub.invocations,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: sub.invocations ? (sub.lastFunctionError ?? null) : null,
      },
      version: '1.0',
      timestamp: now.toISOString(),
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.SequenceNumber as string,
        endSequenceNumber: last.SequenceNumber as string,
        approximateArrivalOfFirstRecord: (first.ApproximateArrivalTimestamp ?? now).toISOString(),
        approximateArrivalOfLastRecord: (last.ApproximateArrivalTimestamp ?? now).toISOString(),
        batchSize: records.length,
        streamArn,
      },
      payload: JSON.stringify(this.event(records)),
    };
    const file = join(options.failureDir, ...failureKey(uuid, this.shardId, now).split('/'));
    try {
      await mkdir(dirname(file), { recursive: true });
      // Written whole then renamed, so a reader never sees half an object.
      await writeFile(`${file}.tmp`, JSON.stringify(record));
      await rename(`${file}.tmp`, file);
      this.ctx.logger.warn(
        `[local esm] ${this.label}: ${records.length} record(s) sent to the on-failure destination (${condition}): ${file}`,
      );
    } catch (err) {
      // Lambda discards the records when the destination cannot take them; so do we, loudly.
      this.ctx.logger.error(`[local esm] ${this.label}: could not write ${file}; records discarded`, err);
    }
  }
}

export const startEventSourceMappings = async (
  options: EventSourceMappingOptions,
): Promise<EventSourceMappingEmulator> => {
  const { kinesis, streamName } = options;
  const logger = options.logger ?? console;
  const region = options.region ?? process.env.AWS_REGION ?? DEFAULTS.region;
  const consumers = options.consumers ?? streamConsumers;
  const resolveHandler = options.resolveHandler ?? createHandlerResolver(options.functionsDir);
  const abort = new AbortController();

  const summary = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName })))
    .StreamDescriptionSummary;
  const streamArn = options.streamArn ?? summary?.StreamARN ?? '';
  const streamKey = `${streamArn}@${summary?.StreamCreationTimestamp?.getTime() ?? 0}`;
  const checkpoints = new CheckpointStore(options.checkpointFile, streamKey);
  await checkpoints.load();

  for (const c of consumers) {
    if (c.parallelizationFactor !== 1) {
      logger.warn(
        `[local esm] ${c.name}: parallelizationFactor ${c.parallelizationFactor} runs as 1 locally`,
      );
    }
  }

  const uuids = Object.fromEntries(consumers.map((c) => [c.name, mappingUuid(c.name, streamArn)]));
  const pollers = new Map<string, ShardPoller>();
  const runs: Promise<void>[] = [];

  const listShards = async (): Promise<Shard[]> => {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const out = await kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }),
        { abortSignal: abort.signal },
      );
      shards.push(...(out.Shards ?? []));
      token = out.NextToken;
    } while (token);
    return shards;
  };

  // A resharded stream gets new shards; a child starts once its parents are read to the end.
  let discovering: Promise<void> = Promise.resolve();
  const discover = () => {
    discovering = discovering
      .then(async () => {
        if (abort.signal.aborted) return;
        const shards = await listShards();
        for (const consumer of consumers) {
          const ctx: Context = {
            options,
            consumer,
            uuid: uuids[consumer.name] as string,
            streamArn,
            region,
            resolveHandler,
            checkpoints,
            clock: options.clock ?? Date.now,
            logger,
            signal: abort.signal,
            onShardEnd: discover,
          };
          for (const shard of shards) {
            const key = `${consumer.name}/${shard.ShardId}`;
            if (pollers.has(key)) continue;
            const parents = [shard.ParentShardId, shard.AdjacentParentShardId]
              .map((id) => (id ? pollers.get(`${consumer.name}/${id}`)?.done : undefined))
              .filter((p): p is Promise<void> => p !== undefined);
            const poller = new ShardPoller(ctx, shard, parents);
            pollers.set(key, poller);
            runs.push(poller.run());
          }
        }
      })
      .catch((err) => {
        if (!abort.signal.aborted) logger.error('[local esm] could not list shards', err);
      });
  };
  discover();
  await discovering;
  if (!pollers.size && consumers.length) throw new Error(`No shards found in stream ${streamName}`);

  const state = (): PollerState[] =>
    [...pollers.values()].map((p) => ({
      consumer: p.ctx.consumer.name,
      shardId: p.shardId,
      ...(p.checkpoint ? { checkpoint: p.checkpoint } : {}),
      pending: p.pending,
      invocations: p.invocations,
      caughtUp: p.idleSince !== undefined,
      finished: p.finished,
      ...(p.lastError ? { lastError: p.lastError } : {}),
    }));

  return {
    uuids,
    streamArn,
    state,
    idle: async ({ timeoutMs = 20_000 } = {}) => {
      const since = performance.now();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await discovering;
        const all = [...pollers.values()];
        if (all.every((p) => p.finished || (p.idleSince ?? Number.NEGATIVE_INFINITY) >= since)) return;
        if (abort.signal.aborted) throw new Error('event source mappings are stopped');
        if (Date.now() >= deadline) {
          throw new Error(`event source mappings not idle after ${timeoutMs} ms: ${JSON.stringify(state())}`);
        }
        await sleep(10);
      }
    },
    stop: async () => {
      abort.abort();
      await discovering;
      await Promise.allSettled(runs);
      await checkpoints.flush();
    },
  };
};
