/**
 * Kinesis Data Firehose, as the archive uses it (lib/constructs/archive.ts), emulated: reads every
 * shard of the stream from its start, buffers records until the buffer holds `sizeBytes` or its
 * oldest record waited `intervalMs` (Firehose's buffering hints), hands the buffer to the
 * transformation function (the same handler module, invoked as Lambda would be), and writes what
 * comes back `Ok` as Parquet into its `dt`/`hour` partition folder — one file per partition per
 * delivery, as Firehose writes one object per partition per buffer. `ProcessingFailed` records go
 * to `errors/processing-failed/`, as Firehose's error output prefix. Positions are checkpointed
 * only after a delivery is written (at least once, like Firehose); with a data folder they survive
 * restarts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { DuckArchive, parquetFileName } from '../../functions/adapters/duckdb-archive';
import { type ArchiveRow, partitionPrefix } from '../../functions/core/archive';
import { archive, type BufferingHints } from '../archive';
import { CheckpointStore } from './checkpoint-store';
import { type HandlerResolver, invokeHandler, localFunctionName } from './lambda';

export interface LocalFirehoseOptions {
  kinesis: KinesisClient;
  streamName: string;
  streamArn: string;
  region: string;
  /** The folder standing in for the archive bucket. */
  archiveDir: string;
  resolveHandler: HandlerResolver;
  buffering?: BufferingHints;
  /** Keeps each shard's position across restarts; in memory without it. */
  checkpointFile?: string;
  pollIntervalMs?: number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
}

interface Buffered {
  shardId: string;
  record: KinesisRecord;
}

const CHECKPOINT_NAME = 'archive-firehose';

export class LocalFirehose {
  private buffer: Buffered[] = [];
  private bytes = 0;
  private oldestAt: number | undefined;
  private delivering: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly buffering: BufferingHints;
  /** Files written, for the bench and tests (bytes per event). */
  delivered = { records: 0, rows: 0, files: 0 };

  private constructor(
    private readonly options: LocalFirehoseOptions,
    private readonly duck: DuckArchive,
    private readonly checkpoints: CheckpointStore,
  ) {
    this.buffering = options.buffering ?? archive.buffering.local;
  }

  static async start(options: LocalFirehoseOptions): Promise<LocalFirehose> {
    const checkpoints = new CheckpointStore(options.checkpointFile, options.streamArn);
    await checkpoints.load();
    const firehose = new LocalFirehose(options, await DuckArchive.open(options.archiveDir), checkpoints);
    const { Shards = [] } = await options.kinesis.send(
      new ListShardsCommand({ StreamName: options.streamName }),
    );
    firehose.loops = Shards.map((s) => firehose.readShard(s.ShardId as string));
    firehose.loops.push(firehose.timer());
    return firehose;
  }

  private get log() {
    return this.options.logger ?? console;
  }

  private async readShard(shardId: string) {
    const { kinesis, streamName } = this.options;
    const after = this.checkpoints.get(CHECKPOINT_NAME, shardId);
    let iterator: string | undefined;
    while (!this.abort.signal.aborted) {
      try {
        iterator ??= (
          await kinesis.send(
            new GetShardIteratorCommand({
              StreamName: streamName,
              ShardId: shardId,
              ...(after
                ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
                : { ShardIteratorType: 'TRIM_HORIZON' }),
            }),
          )
        ).ShardIterator;
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        iterator = page.NextShardIterator;
        for (const record of page.Records ?? []) this.add(shardId, record);
        if (!iterator) return;
        if ((page.Records ?? []).length === 0) await sleep(this.options.pollIntervalMs ?? 100);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.log.warn(`[local firehose] reading ${shardId} failed, retrying: ${String(error)}`);
        iterator = undefined;
        await sleep(500);
      }
    }
  }

  private add(shardId: string, record: KinesisRecord) {
    this.buffer.push({ shardId, record });
    this.bytes += record.Data?.length ?? 0;
    this.oldestAt ??= Date.now();
    if (this.bytes >= this.buffering.sizeBytes) void this.flush();
  }

  private async timer() {
    while (!this.abort.signal.aborted) {
      await sleep(Math.min(250, this.buffering.intervalMs));
      if (this.oldestAt !== undefined && Date.now() - this.oldestAt >= this.buffering.intervalMs)
        await this.flush();
    }
  }

  /** Deliver what is buffered now (one delivery at a time, in order). */
  flush(): Promise<void> {
    const taken = this.buffer;
    this.buffer = [];
    this.bytes = 0;
    this.oldestAt = undefined;
    if (taken.length === 0) return this.delivering;
    this.delivering = this.delivering.then(() => this.deliver(taken));
    return this.delivering;
  }

  private async deliver(records: Buffered[]) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deliverOnce(records);
        return;
      } catch (error) {
        // Firehose retries the transformation too; nothing is checkpointed until it succeeds.
        this.log.error(`[local firehose] delivery of ${records.length} records failed: ${String(error)}`);
        if (this.abort.signal.aborted) return;
        await sleep(Math.min(5_000, 200 * 2 ** attempt));
      }
    }
  }

  private async deliverOnce(records: Buffered[]) {
    const { region, streamArn, resolveHandler, archiveDir } = this.options;
    const event: FirehoseTransformationEvent = {
      invocationId: crypto.randomUUID(),
      deliveryStreamArn: `arn:aws:firehose:${region}:000000000000:deliverystream/${localFunctionName('archive')}`,
      sourceKinesisStreamArn: streamArn,
      region,
      records: records.map(({ shardId, record }, i) => ({
        recordId: String(i),
        approximateArrivalTimestamp: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        kinesisRecordMetadata: {
          shardId,
          partitionKey: record.PartitionKey as string,
          sequenceNumber: record.SequenceNumber as string,
          subsequenceNumber: '',
          approximateArrivalTimestamp: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
        },
      })),
    };
    const handler = await resolveHandler(archive.transform.handler);
    const { result } = (await invokeHandler(handler, event, {
      handlerModule: archive.transform.handler,
      functionName: localFunctionName(archive.transform.handler),
      region,
      timeoutMs: 60_000,
    })) as { result: FirehoseTransformationResult };
    const byPartition = new Map<string, ArchiveRow[]>();
    const failed: string[] = [];
    for (const r of result.records) {
      if (r.result === 'ProcessingFailed') failed.push(r.data ?? '');
      if (r.result !== 'Ok' || r.data === undefined) continue;
      const keys = r.metadata?.partitionKeys as { dt: string; hour: string };
      const prefix = partitionPrefix(keys);
      const row = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8')) as ArchiveRow;
      byPartition.set(prefix, [...(byPartition.get(prefix) ?? []), row]);
    }
    const now = Date.now();
    for (const [prefix, rows] of byPartition)
      await this.duck.writeParquet(rows, join(archiveDir, prefix, parquetFileName(now)));
    if (failed.length > 0) {
      const dir = join(archiveDir, 'errors', 'processing-failed');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${now}-${event.invocationId}.json`), failed.map((d) => `${d}\n`).join(''));
    }
    const last = new Map<string, string>();
    for (const { shardId, record } of records) last.set(shardId, record.SequenceNumber as string);
    for (const [shardId, seq] of last) this.checkpoints.set(CHECKPOINT_NAME, shardId, seq);
    this.delivered.records += records.length;
    this.delivered.rows += [...byPartition.values()].reduce((n, rows) => n + rows.length, 0);
    this.delivered.files += byPartition.size;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.delivering;
    this.duck.close();
  }
}
