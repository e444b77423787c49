/**
 * What each handler module may touch: the stream, which tables at which level, which secrets, and
 * which buckets (lib/buckets.ts). The CDK stack turns this into IAM statements (exactly these actions, on
 * exactly these resources) and the infra tests hold every function's role to it. Plain data, no
 * aws-cdk-lib.
 *
 * A handler module with no entry here fails synth: a new function gets no permissions by accident.
 */

import { type BucketName, bucketList } from './buckets';
import { ENV } from './config';
import { type TableName, tableList } from './tables';

/** `read` is what a Lambda event source mapping polls with (the CDK's Kinesis grantRead set). */
export type StreamAccess = 'write' | 'read' | 'describe';

/**
 * `get`: point lookups (GetItem). `lookup`: point lookups, one or batched (GetItem, BatchGetItem).
 * `read` adds Query and Scan. `update`: UpdateItem only (atomic counters). `write`: every write.
 */
export type TableAccess =
  | 'get'
  | 'lookup'
  | 'read'
  | 'update'
  | 'write'
  | 'readWrite'
  | 'describe'
  // Clean data at the edge: Query the tracking plans, UpdateItem the violation counts, nothing else.
  | 'queryUpdate';

/** Secrets the stack creates; a module that declares one may read its value (GetSecretValue). */
export type SecretName = 'signing' | 'crm';

/**
 * `read`: list and read objects (the failure index reads failed batches; queries read the archive).
 * `write`: put objects only (an archive writer, an export job's files). `readWrite`: list, read, put
 * and delete (erasure rewrites a failed batch without the person's records and deletes one left
 * empty). Every level that reads lists the bucket: without s3:ListBucket, S3 answers a key that is
 * gone (erased, expired) with AccessDenied instead of NoSuchKey.
 */
export type BucketAccess = 'read' | 'write' | 'readWrite';

/**
 * Destination credentials: one Secrets Manager secret per destination, named
 * `pulse/<stage>/destinations/<destinationId>` (DESTINATION_SECRET_PREFIX). `read`: GetSecretValue;
 * `manage`: also create, replace and delete them (the admin routes).
 */
export type DestinationSecretsAccess = 'read' | 'manage';
export const DESTINATION_SECRET_ACTIONS: Readonly<Record<DestinationSecretsAccess, readonly string[]>> = {
  read: ['secretsmanager:GetSecretValue'],
  manage: [
    'secretsmanager:CreateSecret',
    'secretsmanager:DeleteSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
  ],
};
export const destinationSecretPrefix = (stage: string) => `pulse/${stage}/destinations/`;

export interface ModuleAccess {
  readonly stream?: StreamAccess;
  readonly tables?: { readonly [K in TableName]?: TableAccess };
  /** Read access to these secrets; the function learns each one's ARN from its `envVar`. */
  readonly secrets?: readonly SecretName[];
  /** Access to the buckets of lib/buckets.ts; the function learns each one's name from its `envVar`. */
  readonly buckets?: { readonly [B in BucketName]?: BucketAccess };
  /** SQL over the archive (docs/archive.md): Athena in the stack's workgroup, the archive's Glue table. */
  readonly analytics?: AnalyticsAccess;
  /** Destination credentials in Secrets Manager (one secret per destination, under a prefix). */
  readonly destinationSecrets?: DestinationSecretsAccess;
  // eventbridge destinations: events:PutEvents on the stack's bus and pulse:eventBuses (lib/event-buses.ts).
  readonly eventBuses?: 'put';
}

// ---- Archive: SQL over the archive with Athena (docs/archive.md) ----
/**
 * `query`: start, watch and read queries in the stack's Athena workgroup, which reads the archive's
 * Glue table. Athena reads and writes S3 with the caller's credentials: a module that queries also
 * declares the archive bucket (read) and the exports bucket, where the workgroup keeps its results
 * and UNLOAD writes its files.
 */
export type AnalyticsAccess = 'query';

export const ANALYTICS_ACTIONS = {
  workgroup: ['athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StartQueryExecution'],
  catalog: ['glue:GetDatabase', 'glue:GetPartitions', 'glue:GetTable'],
} as const;

export const SECRETS: Readonly<
  Record<SecretName, { readonly envVar: string; readonly description: string }>
> = {
  signing: {
    envVar: ENV.signingSecretArn,
    description: 'HMAC key for consent tokens, link tokens and keyed hashes of erased ids',
  },
  // CRM connectors' private-app tokens, a JSON object by connector id (docs/traits.md).
  crm: {
    envVar: ENV.crmSecretArn,
    description: "CRM connectors' API tokens (JSON: connector id → token), put by an operator",
  },
};

export const STREAM_ACTIONS: Readonly<Record<StreamAccess, readonly string[]>> = {
  write: ['kinesis:PutRecord', 'kinesis:PutRecords'],
  // KinesisEventSource grants the stream's grantRead set to the consumer's role whatever we declare,
  // so 'read' is declared as exactly that set, and the tests notice if the CDK ever widens it.
  read: [
    'kinesis:DescribeStream',
    'kinesis:DescribeStreamConsumer',
    'kinesis:DescribeStreamSummary',
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'kinesis:ListShards',
    'kinesis:ListStreams',
    'kinesis:SubscribeToShard',
  ],
  describe: ['kinesis:DescribeStreamSummary'],
};

const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'] as const;
const TABLE_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  get: ['dynamodb:GetItem'],
  lookup: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
  read: TABLE_READ,
  update: ['dynamodb:UpdateItem'],
  write: TABLE_WRITE,
  readWrite: [...TABLE_READ, ...TABLE_WRITE],
  describe: ['dynamodb:DescribeTable'],
  queryUpdate: ['dynamodb:Query', 'dynamodb:UpdateItem'],
};

/** Levels whose actions also apply to a table's indexes (Query or Scan on a GSI names the index ARN). */
export const TABLE_ACCESS_USES_INDEXES: Readonly<Record<TableAccess, boolean>> = {
  get: false,
  lookup: false,
  read: true,
  update: false,
  write: false,
  readWrite: true,
  describe: false,
  queryUpdate: false,
};

export const SECRET_ACTIONS: readonly string[] = ['secretsmanager:GetSecretValue'];

export const BUCKET_ACTIONS: Readonly<
  Record<BucketAccess, { readonly bucket: readonly string[]; readonly objects: readonly string[] }>
> = {
  read: { bucket: ['s3:ListBucket'], objects: ['s3:GetObject'] },
  write: { bucket: [], objects: ['s3:PutObject'] },
  readWrite: { bucket: ['s3:ListBucket'], objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] },
};

/**
 * Extra KMS actions on the customer managed key, only when the stack is synthesized with
 * `pulse:kmsKey=true` (with AWS managed keys the services authorize by themselves). The failure
 * bucket is SSE-S3 either way, so it needs none.
 */
export const STREAM_KMS_ACTIONS: Readonly<Record<StreamAccess, readonly string[]>> = {
  write: ['kms:GenerateDataKey'],
  read: ['kms:Decrypt'],
  describe: [],
};

const KMS_WRITE = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] as const;

export const TABLE_KMS_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  get: ['kms:Decrypt'],
  lookup: ['kms:Decrypt'],
  read: ['kms:Decrypt'],
  update: KMS_WRITE,
  write: KMS_WRITE,
  readWrite: KMS_WRITE,
  describe: [],
  queryUpdate: KMS_WRITE,
};

export const SECRET_KMS_ACTIONS: readonly string[] = ['kms:Decrypt'];

type TableLevels = ModuleAccess['tables'];
type BucketLevels = ModuleAccess['buckets'];

/** Every table that holds personal data, at one level: erasure and export must reach all of them. */
const personalTables = (level: TableAccess): TableLevels =>
  Object.fromEntries(tableList.filter((t) => t.personalData).map((t) => [t.name, level])) as TableLevels;

/** Every bucket that holds personal data, at one level (erasure and export). */
const personalBuckets = (level: BucketAccess): BucketLevels =>
  Object.fromEntries(bucketList.filter((b) => b.personalData).map((b) => [b.name, level])) as BucketLevels;

/**
 * What a delivery round needs (functions/destinations/deliver.ts), for the two modules that run one
 * (the stream consumer, the redrive): destinations and their outbox, consent and erasure markers by
 * key (and the signing key for the markers' hashes), linked ids and a person's tags (filters,
 * audience memberships), the credentials, and PutEvents on the buses of lib/event-buses.ts.
 */
const deliveryRound = {
  tables: { destinations: 'readWrite', outbox: 'readWrite', consent: 'lookup', users: 'read', tags: 'read' },
  secrets: ['signing'],
  destinationSecrets: 'read',
  eventBuses: 'put',
} as const satisfies ModuleAccess;

export const access = {
  // Liveness: the stream and every table answer a describe call; reads no data.
  'service/health': {
    stream: 'describe',
    tables: Object.fromEntries(tableList.map((t) => [t.name, 'describe'])) as TableLevels,
  },
  // The catch-all answers 404/405 from the request alone.
  'service/fallback': {},
  // Write key by its hash (GetItem), the source's rate-limit window (one atomic UpdateItem), then
  // the stream. The signing key verifies consent tokens and hashes ids.
  'ingest/engagement': {
    stream: 'write',
    // quality: tracking plans loaded whole (Query, cached), violations counted (UpdateItem).
    tables: { sources: 'get', limits: 'update', quality: 'queryUpdate' },
    secrets: ['signing'],
  },
  // Admin CRUD on sources; listing scans the (small) sources table. The signing key derives a
  // new client source's identity-verification secret, shown once at creation.
  'sources/sources': { tables: { sources: 'readWrite' }, secrets: ['signing'] },
  // Analysts' campaign metrics: reads the counters the consumer wrote.
  'metrics/metrics': { tables: { metrics: 'read' } },
  // Records consent and its history (write key checked against sources), and signs consent tokens.
  'consent/consent': {
    // Links (a Query of `links#<id>`) tell a user id from an anonymous one. Predictions: a withdrawal
    // of personalisation removes the person's scores (users) and model tags (tags).
    // Destinations: model tags leaving segments become outbox messages for those following them.
    tables: {
      consent: 'readWrite',
      sources: 'get',
      users: 'readWrite',
      tags: 'readWrite',
      destinations: 'read',
      outbox: 'write',
    },
    secrets: ['signing'],
  },
  // Erasure and export: every personal table (derived, so a new one is covered the day it is
  // declared), and the failed batches in the on-failure bucket, which hold event payloads (found
  // through the failure index in the quarantine table).
  'privacy/privacy': {
    // Erasure forwarded to vendors: which destinations have a deletion API (the requests go to the outbox).
    tables: { ...personalTables('readWrite'), destinations: 'read' },
    buckets: personalBuckets('readWrite'),
    // A person's archived events are found with Athena (its results in the exports bucket).
    analytics: 'query',
    secrets: ['signing'],
  },
  // Reads each new failed batch once and writes its person ids to the failure index (quarantine
  // table, `fi#` partitions); never rewrites or deletes a batch.
  'privacy/failure-index': { tables: { quarantine: 'write' }, buckets: { failures: 'read' } },
  // Folds stream batches into the read models. Consent is only looked up (current state and erasure
  // markers, by key), to drop events of withdrawn or erased persons that were already in flight.
  'aggregate/consumer': {
    stream: 'read',
    tables: {
      users: 'readWrite',
      metrics: 'readWrite',
      consent: 'lookup',
      // Poison records go here with their payload and reason; the consumer never reads them back.
      quarantine: 'write',
      // Rule tags and segment memberships, evaluated as events arrive.
      tags: 'readWrite',
      // Exposure state and assignments that move with an identity merge.
      experiments: 'readWrite',
      // Segment joins and leaves become outbox messages for the destinations following them.
      destinations: 'read',
      outbox: 'write',
      // Predictions: the published models a changed person is re-scored by (docs/models.md).
      models: 'read',
    },
    secrets: ['signing'],
  },
  // Identify puts an identify event on the stream, like any ingest door (write key, rate limit,
  // consent token).
  'identity/identify': {
    stream: 'write',
    // traits: the declarations partition (a Query, cached per container) checks identify's traits.
    tables: { sources: 'get', limits: 'update', traits: 'read' },
    secrets: ['signing'],
  },
  // Profiles: person items and alias lookups, and the Query of a user's `links#` partition; manual
  // tags; the consent summary is current state only, batched by key.
  'users/users': {
    tables: { users: 'read', tags: 'readWrite', consent: 'lookup', destinations: 'read', outbox: 'write' },
  },
  // Rules and segment listings live in the tags table.
  'segments/segments': { tables: { tags: 'readWrite' } },
  // Link signing (admin) and following: stored consent is checked in the table (not the hot path),
  // identity links resolve the person (alias GetItem, then a Query of `links#<userId>` for the ids
  // whose consent counts), and the click goes to the stream.
  'links/links': {
    stream: 'write',
    tables: { consent: 'lookup', users: 'read' },
    secrets: ['signing'],
  },
  // Experiment definitions and assignments; results read the consumer's experiment counters.
  'experiments/experiments': { tables: { experiments: 'readWrite', metrics: 'read' } },
  // experiments v2: flags (experiments table, `flags` partition) and the SDK payload, whose
  // client key is a source's write key.
  'experiments/features': { tables: { experiments: 'readWrite', sources: 'get' } },
  // experiments v2: the bandit schedule reads the counters and writes each bandit's allocation.
  'experiments/bandit': { tables: { experiments: 'readWrite', metrics: 'read' } },
  // Assignment (stored at first exposure), targeting by tags and identity, the exposure event.
  'promotion/promotion': {
    stream: 'write',
    // Stored consent and erasure markers by key: a withdrawal wins over any token.
    tables: {
      experiments: 'readWrite',
      tags: 'read',
      users: 'lookup',
      sources: 'get',
      limits: 'update',
      consent: 'lookup',
    },
    secrets: ['signing'],
  },
  // Segment-compatible ingestion; rejected batch messages are kept in the quarantine.
  'segmentio/tracking': {
    stream: 'write',
    // quality: tracking plans loaded whole (Query, cached), violations counted (UpdateItem); traits:
    // the declarations partition, which identify messages' traits are checked against.
    tables: { sources: 'get', limits: 'update', quarantine: 'write', quality: 'queryUpdate', traits: 'read' },
    secrets: ['signing'],
  },
  'segmentio/settings': { tables: { sources: 'get' } },
  // Built from the route table and schemas in the bundle; touches nothing.
  'service/openapi': {},
  // console (issue 18): Swagger UI's page and assets, read from the bundle; touches nothing.
  'service/docs': {},
  // Scheduled (lib/schedules.ts): due rule checks come from the tags table's byNextCheck index,
  // outcomes go back to tags; persons' stats are read by key, aliases resolved, and backfills
  // Scan the users table page by page.
  'segments/sweep': {
    tables: { tags: 'readWrite', users: 'read', destinations: 'read', outbox: 'write' },
  },
  // Metrics day rollups (scheduled): reads each closed day's quarter rows, writes its rollup.
  'metrics/compact': { tables: { metrics: 'readWrite' } },
  // ---- Archive (docs/archive.md) ----
  // Firehose's transformation: the consumer's admission, read only — identity links (alias
  // BatchGetItem, a Query of `links#<userId>`), current consent and erasure markers by key.
  'archive/transform': { tables: { users: 'read', consent: 'lookup' }, secrets: ['signing'] },
  // Analyses run in Athena over the archive's Glue table; results land in the exports bucket.
  'analytics/analytics': { analytics: 'query', buckets: { archive: 'read', exports: 'readWrite' } },
  // Exports: an Athena UNLOAD into the exports bucket, then presigned URLs of its files.
  'archive/exports': { analytics: 'query', buckets: { archive: 'read', exports: 'readWrite' } },
  // Scheduled: erasure's partition rewrites — find the person's files (Athena), UNLOAD each
  // partition without them, move the new files in and delete the old (docs/archive.md).
  'archive/erasure': { analytics: 'query', buckets: { archive: 'readWrite', exports: 'readWrite' } },
  // Destinations (docs/destinations.md). Admin CRUD: definitions and status (the outbox's due index
  // counts what is retrying), credentials moved to Secrets Manager.
  'destinations/destinations': {
    tables: { destinations: 'readWrite', outbox: 'read' },
    destinationSecrets: 'manage',
  },
  // The second stream consumer: enqueues each matching, consented event per destination and tries
  // it once.
  'destinations/consumer': { stream: 'read', ...deliveryRound },
  // Scheduled: delivers what the due index holds (retries, triggers), advances replays.
  'destinations/redrive': {
    ...deliveryRound,
    // Replays read the archive (Athena over its Glue table; results in the exports bucket).
    analytics: 'query',
    buckets: { archive: 'read', exports: 'readWrite' },
  },
  // Campaign alerts: definitions (admin), evaluation on a schedule against the campaign counters.
  'alerts/alerts': { tables: { destinations: 'readWrite' } },
  'alerts/evaluate': { tables: { destinations: 'readWrite', metrics: 'read', outbox: 'write' } },
  // predictions (docs/models.md). The API: model definitions and versions; a person's scores are
  // read from the person item (aliases resolved through the users table). Locally it also runs a
  // training in process, so it may do what the workflow's steps do.
  'models/models': {
    tables: {
      models: 'readWrite',
      users: 'readWrite',
      tags: 'readWrite',
      consent: 'lookup',
      // Model tags join and leave segments: outbox messages for the destinations following them.
      destinations: 'read',
      outbox: 'write',
    },
  },
  // The workflow's steps: a parallel Scan of person items, the run's rows and versions, scores
  // written back to person items, model tags, and consent (only people with personalisation are scored).
  'models/steps': {
    tables: {
      models: 'readWrite',
      users: 'readWrite',
      tags: 'readWrite',
      consent: 'lookup',
      destinations: 'read',
      outbox: 'write',
    },
  },
  // Clean data at the edge (docs/data-quality.md): tracking plans and their violations (admin,
  // analysts read); the quarantine replay reads quarantined entries (a Scan by receipt time),
  // checks them against today's contract and plans, and puts the passing ones on the stream.
  'quality/tracking-plan': { tables: { quality: 'readWrite' } },
  'quality/replay': {
    stream: 'write',
    tables: { quarantine: 'read', quality: 'read' },
    // Hashes personal data in replayed properties when pulse:piiMode is `hash`.
    secrets: ['signing'],
  },
  // ---- traits (docs/traits.md) ----
  // Declarations: one partition of the traits table.
  'traits/traits': { tables: { traits: 'readWrite' } },
  // Connector settings and status; never the token (the sync job alone reads the CRM secret).
  'traits/connectors': { tables: { traits: 'readWrite' } },
  // Scheduled CRM pull: connector cursors in the traits table, the declarations, the CRM token
  // secret; people by a hashed trait (a Query of a match partition, then the persons by key);
  // trait updates go to the stream like every write. The signing key hashes `pii: hash` traits.
  'traits/crm-sync': {
    stream: 'write',
    tables: { traits: 'readWrite', users: 'read' },
    secrets: ['signing', 'crm'],
  },
  // Import jobs in the traits table; the presigned URL a client uploads the file with (PutObject).
  'traits/imports': { tables: { traits: 'readWrite' }, buckets: { imports: 'write' } },
  // Scheduled: runs uploaded imports — reads the file, deletes it once applied, checkpoints the job;
  // trait updates go to the stream. The declarations, and the signing key for `pii: hash` traits.
  // Imported manual tags go the tags routes' way (ids resolved, erasure markers checked, segment
  // triggers to the outbox); the signing key hashes ids for the markers.
  'traits/import-runner': {
    stream: 'write',
    tables: {
      traits: 'readWrite',
      tags: 'readWrite',
      users: 'read',
      consent: 'lookup',
      destinations: 'read',
      outbox: 'write',
    },
    buckets: { imports: 'readWrite' },
    secrets: ['signing'],
  },
} as const satisfies Record<string, ModuleAccess>;

/** The declaration for a handler module; throws for a module nobody declared. */
export const accessFor = (handlerModule: string): ModuleAccess => {
  const decl = (access as Record<string, ModuleAccess>)[handlerModule];
  if (!decl) {
    throw new Error(
      `No access declaration for handler module '${handlerModule}': add it to lib/access.ts ` +
        `(what it may touch: stream, tables, secrets, buckets) before wiring the function.`,
    );
  }
  return decl;
};
