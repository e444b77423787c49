/**
 * DynamoDB and Kinesis for the local stack: dynalite and kinesalite in-process on loopback ports
 * (in memory, or LevelDB under a data dir), or services already running elsewhere when
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_KINESIS (or AWS_ENDPOINT_URL) name them. Either way
 * every table of the table list and the event stream exist and are ACTIVE when this resolves.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ResourceInUseException as KinesisResourceInUseException,
  ResourceNotFoundException as KinesisResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULTS } from '../config';
import { eventStream } from '../stream';
import { type TableDef, type TableName, tableList } from '../tables';
import { processAlive } from './running';

const require = createRequire(import.meta.url);

interface EmulatorServer extends Server {
  close(callback?: (err?: Error) => void): this;
}
type Dynalite = (options: { createTableMs?: number; path?: string }) => EmulatorServer;
type Kinesalite = (options: {
  createStreamMs?: number;
  shardLimit?: number;
  path?: string;
}) => EmulatorServer;

/** Prefix of every local physical name: `pulse-local-users`, `pulse-local-events`. */
export const LOCAL_PREFIX = 'pulse-local-';
export const localName = (name: string): string => `${LOCAL_PREFIX}${name}`;

export interface Endpoints {
  dynamodb: string;
  kinesis: string;
}

export interface ResourceNames {
  /** Physical table name by logical name. */
  tables: Record<TableName, string>;
  stream: string;
}

export interface EmulatorOptions {
  /** LevelDB folders `<dataDir>/dynamodb` and `<dataDir>/kinesis`; in memory without it. */
  dataDir?: string;
  /** Where AWS_ENDPOINT_URL_* are looked up (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  region?: string;
  /** Ports for the in-process emulators; 0 (default) picks free ones. */
  dynamodbPort?: number;
  kinesisPort?: number;
  /** Deadline for tables and stream to become ACTIVE. */
  readyTimeoutMs?: number;
}

export interface Emulators {
  endpoints: Endpoints;
  names: ResourceNames;
  streamArn: string;
  /** True for a service reached through AWS_ENDPOINT_URL_*, false for one started here. */
  external: { dynamodb: boolean; kinesis: boolean };
  region: string;
  dynamodb: DynamoDBClient;
  kinesis: KinesisClient;
  /** Stops what was started here (never an external service) and releases the clients. */
  close(): Promise<void>;
}

export const localNames = (): ResourceNames => ({
  tables: Object.fromEntries(tableList.map((t) => [t.name, localName(t.name)])) as Record<TableName, string>,
  stream: localName(eventStream.name),
});

const credentialsFrom = (env: EmulatorOptions['env'] = process.env) => ({
  accessKeyId: env.AWS_ACCESS_KEY_ID || 'local',
  secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'local',
  ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
});

export const dynamoClient = (
  endpoint: string,
  region: string,
  env?: EmulatorOptions['env'],
): DynamoDBClient => new DynamoDBClient({ endpoint, region, credentials: credentialsFrom(env) });

/** Kinesis over HTTP/1.1: the SDK's default handler fails against kinesalite. */
export const kinesisClient = (
  endpoint: string,
  region: string,
  env?: EmulatorOptions['env'],
): KinesisClient =>
  new KinesisClient({
    endpoint,
    region,
    credentials: credentialsFrom(env),
    requestHandler: new NodeHttpHandler(),
  });

const listen = (server: EmulatorServer, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });

const closeServer = (server: EmulatorServer): Promise<void> =>
  new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Keep-alive sockets of clients we did not create would otherwise hold close() open.
    server.closeIdleConnections();
  });

/**
 * Claims a data dir for this process. LevelDB refuses a second opener, and kinesalite reports
 * that as an unhandled 'error' event that kills the process: better to refuse clearly first.
 */
const lockDataDir = (dataDir: string): (() => void) => {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8'));
      if (holder && processAlive(holder)) {
        throw new Error(
          `Data dir ${dataDir} is in use by ${holder === process.pid ? 'this process' : `process ${holder}`}`,
        );
      }
      rmSync(file, { force: true }); // left by a process that died
    }
  }
  throw new Error(`Could not lock data dir ${dataDir}`);
};

/** Polls `check` until it returns true, backing off from 10 ms to 250 ms, until the deadline. */
export const waitFor = async (
  what: string,
  deadline: number,
  check: () => Promise<boolean>,
): Promise<void> => {
  let delay = 10;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
};

const tableSchema = (def: TableDef, name: string) => {
  const attributes = new Set<string>([def.partitionKey]);
  const keySchema: KeySchemaElement[] = [{ AttributeName: def.partitionKey, KeyType: 'HASH' }];
  if (def.sortKey) {
    attributes.add(def.sortKey);
    keySchema.push({ AttributeName: def.sortKey, KeyType: 'RANGE' });
  }
  const indexes: GlobalSecondaryIndex[] = def.indexes.map((index) => {
    attributes.add(index.partitionKey);
    const schema: KeySchemaElement[] = [{ AttributeName: index.partitionKey, KeyType: 'HASH' }];
    if (index.sortKey) {
      attributes.add(index.sortKey);
      schema.push({ AttributeName: index.sortKey, KeyType: 'RANGE' });
    }
    return { IndexName: index.name, KeySchema: schema, Projection: { ProjectionType: 'ALL' } };
  });
  // Every key attribute is a string by design (see lib/tables.ts).
  const definitions: AttributeDefinition[] = [...attributes].map((a) => ({
    AttributeName: a,
    AttributeType: 'S',
  }));
  return {
    TableName: name,
    AttributeDefinitions: definitions,
    KeySchema: keySchema,
    BillingMode: 'PAY_PER_REQUEST' as const,
    ...(indexes.length ? { GlobalSecondaryIndexes: indexes } : {}),
  };
};

/** Creates the table if missing and waits until it and its indexes are ACTIVE. */
export const ensureTable = async (client: DynamoDBClient, def: TableDef, name: string, deadline: number) => {
  let created = false;
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    try {
      await client.send(new CreateTableCommand(tableSchema(def, name)));
      created = true;
    } catch (createErr) {
      // Another stack created it between our describe and create: fine.
      if (!(createErr instanceof ResourceInUseException)) throw createErr;
    }
  }
  await waitFor(`table ${name} to become ACTIVE`, deadline, async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    return (
      Table?.TableStatus === 'ACTIVE' &&
      (Table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE')
    );
  });
  if (created && def.ttlAttribute) {
    // dynalite has no TTL API; other emulators (DynamoDB Local, LocalStack) accept it.
    await client
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
        }),
      )
      .catch(() => undefined);
  }
};

/** Creates the stream if missing (shardCount shards), waits until ACTIVE, returns its ARN. */
export const ensureStream = async (
  client: KinesisClient,
  name: string,
  deadline: number,
  shardCount: number = eventStream.defaultShardCount,
  retentionHours: number = eventStream.retentionHours,
): Promise<string> => {
  const describe = async () =>
    (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
  let created = false;
  try {
    await describe();
  } catch (err) {
    if (!(err instanceof KinesisResourceNotFoundException)) throw err;
    try {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
      created = true;
    } catch (createErr) {
      if (!(createErr instanceof KinesisResourceInUseException)) throw createErr;
    }
  }
  let arn = '';
  await waitFor(`stream ${name} to become ACTIVE`, deadline, async () => {
    const summary = await describe();
    arn = summary?.StreamARN ?? '';
    return summary?.StreamStatus === 'ACTIVE';
  });
  if (created && retentionHours > 24) {
    // Same retention as the deployed stream, so a --data dir keeps a week of records.
    await client.send(
      new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: retentionHours }),
    );
    await waitFor(
      `stream ${name} to become ACTIVE`,
      deadline,
      async () => (await describe())?.StreamStatus === 'ACTIVE',
    );
  }
  return arn;
};

/** The endpoint the SDK itself would use for a service, from the environment. */
export const configuredEndpoint = (
  service: 'DYNAMODB' | 'KINESIS',
  env: EmulatorOptions['env'] = process.env,
): string | undefined => env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;

export const startEmulators = async (options: EmulatorOptions = {}): Promise<Emulators> => {
  const env = options.env ?? process.env;
  const region = options.region ?? env.AWS_REGION ?? DEFAULTS.region;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  const started: EmulatorServer[] = [];
  const clients: { destroy(): void }[] = [];
  let unlock: (() => void) | undefined;
  const close = async () => {
    for (const c of clients.splice(0)) c.destroy();
    const errors: unknown[] = [];
    for (const s of started.splice(0).reverse()) await closeServer(s).catch((e) => errors.push(e));
    unlock?.();
    unlock = undefined;
    if (errors.length) throw new AggregateError(errors, 'Could not stop the emulators cleanly');
  };

  try {
    const dir = (sub: string) => {
      if (!options.dataDir) return {};
      const path = join(options.dataDir, sub);
      mkdirSync(path, { recursive: true });
      return { path };
    };

    let dynamodbEndpoint = configuredEndpoint('DYNAMODB', env);
    const dynamodbExternal = Boolean(dynamodbEndpoint);
    const kinesisConfigured = configuredEndpoint('KINESIS', env);
    if (options.dataDir && (!dynamodbExternal || !kinesisConfigured)) unlock = lockDataDir(options.dataDir);
    if (!dynamodbEndpoint) {
      const dynalite = require('dynalite') as Dynalite;
      const server = dynalite({ createTableMs: 0, ...dir('dynamodb') });
      started.push(server);
      dynamodbEndpoint = await listen(server, options.dynamodbPort ?? 0);
    }

    let kinesisEndpoint = kinesisConfigured;
    const kinesisExternal = Boolean(kinesisEndpoint);
    if (!kinesisEndpoint) {
      const kinesalite = require('kinesalite') as Kinesalite;
      const server = kinesalite({ createStreamMs: 0, shardLimit: 100, ...dir('kinesis') });
      started.push(server);
      kinesisEndpoint = await listen(server, options.kinesisPort ?? 0);
    }

    const dynamodb = dynamoClient(dynamodbEndpoint, region, env);
    const kinesis = kinesisClient(kinesisEndpoint, region, env);
    clients.push(dynamodb, kinesis);

    const names = localNames();
    const [streamArn] = await Promise.all([
      ensureStream(kinesis, names.stream, deadline),
      ...tableList.map((def) => ensureTable(dynamodb, def, names.tables[def.name as TableName], deadline)),
    ]);

    return {
      endpoints: { dynamodb: dynamodbEndpoint, kinesis: kinesisEndpoint },
      names,
      streamArn,
      external: { dynamodb: dynamodbExternal, kinesis: kinesisExternal },
      region,
      dynamodb,
      kinesis,
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
};
