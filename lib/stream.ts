/**
 * The engagement stream and its consumers' event source mapping settings: read by the CDK
 * stack and by the local poller, so both behave the same. Plain data, no aws-cdk-lib.
 */

export const eventStream = {
  name: 'events',
  envVar: 'EVENTS_STREAM',
  /** Shards in provisioned mode (CDK context `pulse:shardMode=provisioned`) and locally. */
  defaultShardCount: 2,
  /**
   * Kinesis's minimum (and the price included in every stream): the stream is a buffer between
   * ingest and the read models, and each record in it is personal data that erasure cannot reach,
   * so it is kept no longer than the consumer needs to catch up after an outage.
   */
  retentionHours: 24,
} as const;

export interface ConsumerSettings {
  readonly name: string;
  /** Handler module relative to `functions/`. */
  readonly handler: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly bisectBatchOnError: boolean;
  /** Retries after the first attempt, before a batch goes to the on-failure destination. */
  readonly retryAttempts: number;
  readonly maxRecordAgeSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /**
   * Always 1, by type. Exactly-once rests on one writer per shard, in stream order: campaign
   * counters are keyed by shard and apply a batch's delta only past their sequence checkpoint, and
   * person items carry one per shard too. With a higher factor Lambda runs several batches of one
   * shard at once (ordered only per partition key), so two invocations would write the same
   * shard's counters out of order and a checkpoint could skip records another batch has not yet
   * applied. The local poller runs one invocation per shard, as this pins.
   */
  readonly parallelizationFactor: 1;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export const aggregateConsumer: ConsumerSettings = {
  name: 'aggregate',
  handler: 'aggregate/consumer',
  batchSize: 500,
  maxBatchingWindowSeconds: 1,
  bisectBatchOnError: true,
  retryAttempts: 8,
  // As old as the stream keeps a record: one about to expire goes to the on-failure bucket instead.
  maxRecordAgeSeconds: eventStream.retentionHours * 3600,
  reportBatchItemFailures: true,
  parallelizationFactor: 1,
  startingPosition: 'TRIM_HORIZON',
};

// Destinations (docs/destinations.md): a consumer of its own, so a slow vendor never delays the
// read models; its batches only enqueue and try once, retries run from the outbox.
// Same batching, retries and record age as the aggregate consumer.
export const destinationsConsumer: ConsumerSettings = {
  ...aggregateConsumer,
  name: 'destinations',
  handler: 'destinations/consumer',
};

export const streamConsumers: readonly ConsumerSettings[] = [aggregateConsumer, destinationsConsumer];

/**
 * Indexes every failed batch the consumers' on-failure destination receives (S3 "Object Created"
 * events), so erasure and export read only a person's objects (functions/privacy/failure-index.ts).
 */
export const failureIndexer = {
  name: 'failure-index',
  handler: 'privacy/failure-index',
  /** Its EMF metric counting objects it could not read as on-failure records (alarmed on). */
  unindexedMetric: 'FailedBatchesUnindexed',
} as const;
