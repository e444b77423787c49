/**
 * What each handler module may touch: the stream and which tables, at which level. The CDK stack
 * turns this into IAM statements (exactly these actions, on exactly these resources) and the infra
 * tests hold every function's role to it. Plain data, no aws-cdk-lib.
 *
 * A handler module with no entry here fails synth: a new function gets no permissions by accident.
 */

import { type TableName, tableList } from './tables';

/** `read` is what a Lambda event source mapping polls with (the CDK's Kinesis grantRead set). */
export type StreamAccess = 'write' | 'read' | 'describe';

/** `get` is point lookups only (GetItem); `read` adds BatchGetItem, Query and Scan. */
export type TableAccess = 'get' | 'read' | 'write' | 'readWrite' | 'describe';

export interface ModuleAccess {
  readonly stream?: StreamAccess;
  readonly tables?: { readonly [K in TableName]?: TableAccess };
}

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
  read: TABLE_READ,
  write: TABLE_WRITE,
  readWrite: [...TABLE_READ, ...TABLE_WRITE],
  describe: ['dynamodb:DescribeTable'],
};

/** Levels whose actions also apply to a table's indexes (Query or Scan on a GSI names the index ARN). */
export const TABLE_ACCESS_USES_INDEXES: Readonly<Record<TableAccess, boolean>> = {
  get: false,
  read: true,
  write: false,
  readWrite: true,
  describe: false,
};

/**
 * Extra KMS actions on the customer managed key, only when the stack is synthesized with
 * `pulse:kmsKey=true` (with AWS managed keys the services authorize by themselves).
 */
export const STREAM_KMS_ACTIONS: Readonly<Record<StreamAccess, readonly string[]>> = {
  write: ['kms:GenerateDataKey'],
  read: ['kms:Decrypt'],
  describe: [],
};

export const TABLE_KMS_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  get: ['kms:Decrypt'],
  read: ['kms:Decrypt'],
  write: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
  readWrite: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
  describe: [],
};

export const access = {
  // Liveness: the stream and every table answer a describe call; reads no data.
  'service/health': {
    stream: 'describe',
    tables: Object.fromEntries(tableList.map((t) => [t.name, 'describe'])) as ModuleAccess['tables'],
  },
  // The catch-all answers 404/405 from the request alone.
  'service/fallback': {},
  // Checks the write key's hash by its key (GetItem), then puts events on the stream.
  'ingest/engagement': { stream: 'write', tables: { sources: 'get' } },
  // Admin CRUD on sources; listing scans the (small) sources table.
  'sources/sources': { tables: { sources: 'readWrite' } },
  // Analysts' campaign metrics: reads the counters the consumer wrote.
  'metrics/metrics': { tables: { metrics: 'read' } },
  // Folds stream batches into the read models; never touches sources.
  'aggregate/consumer': {
    stream: 'read',
    tables: {
      users: 'readWrite',
      tags: 'readWrite',
      variants: 'readWrite',
      consent: 'readWrite',
      metrics: 'readWrite',
      // Poison records go here with their payload and reason; the consumer never reads them back.
      quarantine: 'write',
    },
  },
} as const satisfies Record<string, ModuleAccess>;

/** The declaration for a handler module; throws for a module nobody declared. */
export const accessFor = (handlerModule: string): ModuleAccess => {
  const decl = (access as Record<string, ModuleAccess>)[handlerModule];
  if (!decl) {
    throw new Error(
      `No access declaration for handler module '${handlerModule}': add it to lib/access.ts ` +
        `(what it may touch: stream and tables) before wiring the function.`,
    );
  }
  return decl;
};
