/**
 * Writes records to the event stream with PutRecords. PutRecords answers 200 even when some
 * entries failed (`FailedRecordCount > 0`): only those entries are resent, with exponential
 * backoff and full jitter. Whole-request errors are retried by the SDK's own retry strategy.
 * The promise resolves only when the stream took every record; otherwise it rejects with
 * StreamUnavailableError naming how many were not taken, so a caller never reports success
 * for an event the stream did not take.
 */
import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';

export interface StreamRecord {
  partitionKey: string;
  data: Uint8Array;
}

export interface WriterOptions {
  /** Attempts per entry, the first included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called once per resend round with how many entries are resent (for metrics). */
  onRetry?: (entries: number, errorCodes: string[]) => void;
}

/** PutRecords ceilings: 500 entries, 5 MiB per request (data + partition keys). */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export class StreamUnavailableError extends Error {
  constructor(
    readonly failed: number,
    readonly errorCodes: string[],
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(
      `The stream did not take ${failed} record(s): ${errorCodes.join(', ') || 'request failed'}`,
      options,
    );
    this.name = 'StreamUnavailableError';
  }
}

const recordBytes = (r: StreamRecord) => r.data.byteLength + Buffer.byteLength(r.partitionKey);

/** Split records into PutRecords requests within both ceilings, keeping their order. */
export const chunkRecords = (records: readonly StreamRecord[]): StreamRecord[][] => {
  const chunks: StreamRecord[][] = [];
  let current: StreamRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (
      current.length > 0 &&
      (current.length === PUT_RECORDS_MAX_ENTRIES || bytes + size > PUT_RECORDS_MAX_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
};

export class KinesisWriter {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    private readonly options: WriterOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Resolves when every record is in the stream; rejects with StreamUnavailableError otherwise. */
  async putAll(records: readonly StreamRecord[]): Promise<void> {
    const results = await Promise.allSettled(chunkRecords(records).map((chunk) => this.putChunk(chunk)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (failures.length === 0) return;
    const failed = failures.reduce((n, e) => n + (e instanceof StreamUnavailableError ? e.failed : 0), 0);
    const codes = [
      ...new Set(failures.flatMap((e) => (e instanceof StreamUnavailableError ? e.errorCodes : []))),
    ];
    throw new StreamUnavailableError(failed, codes, 1, { cause: failures[0] });
  }

  private async putChunk(chunk: StreamRecord[]): Promise<void> {
    let pending: PutRecordsRequestEntry[] = chunk.map((r) => ({
      Data: r.data,
      PartitionKey: r.partitionKey,
    }));
    let codes: string[] = [];
    for (let attempt = 1; ; attempt++) {
      let response: PutRecordsCommandOutput;
      try {
        response = await this.client.send(
          new PutRecordsCommand({ StreamName: this.streamName, Records: pending }),
        );
      } catch (error) {
        // The SDK already retried the request with its own strategy; the stream is unavailable.
        const code = (error as { name?: string }).name ?? 'Error';
        throw new StreamUnavailableError(pending.length, [code], 1, { cause: error });
      }
      if (!response.FailedRecordCount) return;
      const results = response.Records ?? [];
      const failed = pending.filter((_, i) => results[i]?.ErrorCode !== undefined);
      codes = [...new Set(results.flatMap((r) => (r.ErrorCode ? [r.ErrorCode] : [])))];
      if (attempt >= this.maxAttempts) throw new StreamUnavailableError(failed.length, codes, 1);
      this.options.onRetry?.(failed.length, codes);
      pending = failed;
      // Full jitter: spread resends so throttled producers do not retry in lockstep.
      const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
      await this.sleep(Math.floor(this.random() * cap));
    }
  }
}
