/**
 * What each handler module may touch: the stream, which tables at which level, which secrets, and
 * the on-failure bucket. The CDK stack turns this into IAM statements (exactly these actions, on
 * exactly these resources) and the infra tests hold every function's role to it. Plain data, no
 * aws-cdk-lib.
 *
 * A handler module with no entry here fails synth: a new function gets no permissions by accident.
 */

import { ENV } from './config';
import { type TableName, tableList } from './tables';

/** `read` is what a Lambda event source mapping polls with (the CDK's Kinesis grantRead set). */
export type StreamAccess = 'write' | 'read' | 'describe';

/**
 * `get`: point lookups (GetItem). `lookup`: point lookups, one or batched (GetItem, BatchGetItem).
 * `read` adds Query and Scan. `update`: UpdateItem only (atomic counters). `write`: every write.
 */
export type TableAccess = 'get' | 'lookup' | 'read' | 'update' | 'write' | 'readWrite' | 'describe';

/** Secrets the stack creates; a module that declares one may read its value (GetSecretValue). */
export type SecretName = 'signing';

/**
 * `read`: read failed batches (the failure index). `readRewrite`: read them (export), rewrite one
 * without a person's records and delete one left empty (erasure keeps other people's failed events
 * for operators). Both list the bucket: without s3:ListBucket, S3 answers a key that is gone (erased,
 * expired) with AccessDenied instead of NoSuchKey.
 */
export type FailureBucketAccess = 'read' | 'readRewrite';

export interface ModuleAccess {
  readonly stream?: StreamAccess;
  readonly tables?: { readonly [K in TableName]?: TableAccess };
  /** Read access to these secrets; the function learns each one's ARN from its `envVar`. */
  readonly secrets?: readonly SecretName[];
  /** Access to the stream consumers' on-failure bucket; the function learns its name from ENV.failureBucket. */
  readonly failureBucket?: FailureBucketAccess;
}

export const SECRETS: Readonly<
  Record<SecretName, { readonly envVar: string; readonly description: string }>
> = {
  signing: {
    envVar: ENV.signingSecretArn,
    description: 'HMAC key for consent tokens, link tokens and keyed hashes of erased ids',
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
};

export const SECRET_ACTIONS: readonly string[] = ['secretsmanager:GetSecretValue'];

export const FAILURE_BUCKET_ACTIONS: Readonly<
  Record<FailureBucketAccess, { readonly bucket: readonly string[]; readonly objects: readonly string[] }>
> = {
  read: { bucket: ['s3:ListBucket'], objects: ['s3:GetObject'] },
  readRewrite: { bucket: ['s3:ListBucket'], objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] },
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
};

export const SECRET_KMS_ACTIONS: readonly string[] = ['kms:Decrypt'];

type TableLevels = ModuleAccess['tables'];

/** Every table that holds personal data, at one level: erasure and export must reach all of them. */
const personalTables = (level: TableAccess): TableLevels =>
  Object.fromEntries(tableList.filter((t) => t.personalData).map((t) => [t.name, level])) as TableLevels;

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
    tables: { sources: 'get', limits: 'update' },
    secrets: ['signing'],
  },
  // Admin CRUD on sources; listing scans the (small) sources table. The signing key derives a
  // new client source's identity-verification secret, shown once at creation.
  'sources/sources': { tables: { sources: 'readWrite' }, secrets: ['signing'] },
  // Analysts' campaign metrics: reads the counters the consumer wrote.
  'metrics/metrics': { tables: { metrics: 'read' } },
  // Records consent and its history (write key checked against sources), and signs consent tokens.
  'consent/consent': {
    // Links (a Query of `links#<id>`) tell a user id from an anonymous one.
    tables: { consent: 'readWrite', sources: 'get', users: 'read' },
    secrets: ['signing'],
  },
  // Erasure and export: every personal table (derived, so a new one is covered the day it is
  // declared), and the failed batches in the on-failure bucket, which hold event payloads (found
  // through the failure index in the quarantine table).
  'privacy/privacy': {
    tables: personalTables('readWrite'),
    failureBucket: 'readRewrite',
    secrets: ['signing'],
  },
  // Reads each new failed batch once and writes its person ids to the failure index (quarantine
  // table, `fi#` partitions); never rewrites or deletes a batch.
  'privacy/failure-index': { tables: { quarantine: 'write' }, failureBucket: 'read' },
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
    },
    secrets: ['signing'],
  },
  // Identify puts an identify event on the stream, like any ingest door (write key, rate limit,
  // consent token).
  'identity/identify': {
    stream: 'write',
    tables: { sources: 'get', limits: 'update' },
    secrets: ['signing'],
  },
  // Profiles: person items and alias lookups, and the Query of a user's `links#` partition; manual
  // tags; the consent summary is current state only, batched by key.
  'users/users': {
    tables: { users: 'read', tags: 'readWrite', consent: 'lookup' },
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
    tables: { sources: 'get', limits: 'update', quarantine: 'write' },
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
  'segments/sweep': { tables: { tags: 'readWrite', users: 'read' } },
} as const satisfies Record<string, ModuleAccess>;

/** The declaration for a handler module; throws for a module nobody declared. */
export const accessFor = (handlerModule: string): ModuleAccess => {
  const decl = (access as Record<string, ModuleAccess>)[handlerModule];
  if (!decl) {
    throw new Error(
      `No access declaration for handler module '${handlerModule}': add it to lib/access.ts ` +
        `(what it may touch: stream, tables, secrets, failure bucket) before wiring the function.`,
    );
  }
  return decl;
};
