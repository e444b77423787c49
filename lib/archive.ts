/**
 * The archive (docs/archive.md): every admitted canonical event as Parquet in S3, partitioned by
 * event date and hour, with a Glue table over it and an Athena workgroup for SQL. Plain data, no
 * aws-cdk-lib: the CDK construct (lib/constructs/archive.ts), the local Firehose
 * (lib/local/firehose.ts) and the functions read it.
 */

/** Firehose buffers records until one of these is reached, then writes a file per partition. */
export interface BufferingHints {
  readonly sizeBytes: number;
  readonly intervalMs: number;
}

export const archive = {
  /** Glue table name (the database is per stack, in ENV.archiveDatabase). */
  table: 'events',
  /** The Firehose transformation: admission (consent, erasure, identity), then the Parquet row. */
  transform: {
    handler: 'archive/transform',
    /** Records per invocation (Firehose's processor parameter: at most 3 MB of them, 500 records). */
    bufferSizeMiB: 1,
    bufferIntervalSeconds: 60,
  },
  buffering: {
    /** Firehose's minimum with dynamic partitioning is 64 MiB; files of that size read fastest. */
    aws: { sizeBytes: 64 * 1024 * 1024, intervalMs: 300_000 },
    /** The same policy on a laptop, smaller: queryable within seconds. */
    local: { sizeBytes: 1024 * 1024, intervalMs: 5_000 },
  } satisfies Record<string, BufferingHints>,
  athena: {
    /** Per-query cutoff: Athena cancels a query past it (and bills at most that much, $5/TB). */
    bytesScannedCutoff: 10 * 1024 ** 3,
    /** Query results (answers and their CSVs) expire after this. */
    resultsRetentionDays: 7,
  },
  /**
   * Erasure rewrites the partitions holding a person's rows. It waits for what Firehose may still
   * hold (its buffer interval) before it rewrites, and runs every `everyMinutes`: a person's rows
   * are gone within `boundHours` of the erasure request.
   */
  erasure: { everyMinutes: 30, settleMinutes: 10, boundHours: 2 },
} as const;
