/**
 * Lambda's event source mapping for Kinesis, emulated: one poller per shard per consumer, with
 * the consumer's declared settings (lib/stream.ts) applied as Lambda applies them — batch size and
 * batching window, ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts,
 * MaximumRecordAgeInSeconds — and an S3-shaped on-failure destination in a local folder.
 *
 * This file starts the mappings: it finds the shards (and the children of a resharded stream),
 * starts a poller per shard and consumer, and reports when they are idle. The rest, one job each:
 * shard-poller.ts (reading, invoking, checkpointing), stream-batch-policy.ts (the decisions, pure),
 * kinesis-event.ts (the invocation event), failure-destination.ts (the on-failure folder),
 * checkpoint-store.ts (positions across restarts).
 */

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { DEFAULTS } from '../config';
import { type ConsumerSettings, streamConsumers } from '../stream';
import { CheckpointStore } from './checkpoint-store';
import { createHandlerResolver, type HandlerResolver } from './lambda';
import { type PollerContext, ShardPoller } from './shard-poller';

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
  /**
   * Called with each object written to the destination (its key and size), as S3 would announce it;
   * the local stack runs the failure index with it. Awaited, so `idle()` covers it; errors are logged.
   */
  onFailureWritten?: (key: string, size: number) => Promise<void>;
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

/** A stable UUID-shaped id per consumer and stream, so destination keys stay put across restarts. */
const mappingUuid = (consumer: string, streamArn: string): string => {
  const h = createHash('sha256').update(`${streamArn}|${consumer}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

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
  const checkpoints = new CheckpointStore(options.checkpointFile, streamKey, (error) =>
    logger.error(
      '[local esm] could not write the checkpoint file; a restart replays from older positions',
      error,
    ),
  );
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
          const ctx: PollerContext = {
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
