/**
 * The whole local stack in one process: emulators (or external endpoints), tables and stream
 * from the same declarations as the CDK stack, the API Gateway emulator on the route table, and
 * the event source mapping pollers. Handler modules read process.env when first imported, so the
 * environment is set before the gateway or a poller can import one; close() puts it back.
 *
 * process.env is process-wide: run one local stack per process at a time (a second one pointed
 * at the first one's emulators sets identical values, so that case works too).
 */

import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BufferingHints } from '../archive';
import { type BucketName, bucketList } from '../buckets';
import { DEFAULTS, ENV } from '../config';
import { parseCorsOrigins } from '../cors';
import { type FunctionSettings, type ResourceNames, sharedEnvironment } from '../environment';
// eventbridge destinations (docs/destinations.md)
import { engagementBusName, eventBusArn, parseEventBuses } from '../event-buses';
import type { FrontDoor } from '../front-door';
import { type ScheduleDef, schedules as scheduleList } from '../schedules';
import type { ConsumerSettings } from '../stream';
import { failureIndexer } from '../stream';
import type { TableName } from '../tables';
import { startAccessGuard } from './access-guard';
// console (issue 18)
import { createConsoleServer } from './console';
import { type Emulators, type Endpoints, startEmulators } from './emulators';
import { type EventSourceMappingEmulator, startEventSourceMappings } from './event-source-mapping';
import { type LocalEventBridge, startLocalEventBridge } from './eventbridge';
import { LocalFirehose } from './firehose';
import { type Gateway, startGateway } from './gateway';
import { DEFAULT_KEY_DIR, ensureLocalHmacKey, ensureLocalKeys, jwksJson, type LocalKeys } from './keys';
import {
  createHandlerResolver,
  type HandlerResolver,
  invokeHandler,
  LOCAL_ACCOUNT_ID,
  localFunctionName,
} from './lambda';
import { type ObjectServer, startObjectServer } from './object-server';
import { LOCAL_FAILURE_BUCKET, objectCreatedEvent } from './s3-events';
import { type Scheduler, startScheduler } from './scheduler';

export interface LocalStackOptions {
  /** Gateway port; 0 picks a free one. Default 0 (bin/local.ts passes 3000). */
  port?: number;
  /** Gateway interface; default 127.0.0.1. */
  host?: string;
  /** Keep tables, stream, checkpoints and failures here between runs; in memory without it. */
  dataDir?: string;
  /**
   * Variables for the functions, applied over everything else; also where AWS_ENDPOINT_URL_*
   * for external services are looked up first (then process.env).
   */
  env?: Record<string, string>;
  /** Folder of handler modules; default `<repo>/functions`. */
  functionsDir?: string;
  /** Replaces functionsDir: how a handler module name becomes a handler. */
  resolveHandler?: HandlerResolver;
  /** On-failure destination folder; default `<dataDir>/failures`, else a fresh temp folder. */
  /**
   * `alb`: also serve the ALB front door (lib/front-door.ts) on its own port, as the deployed stack
   * does on its own endpoint; `ingestUrl` is where SDKs send events either way.
   */
  frontDoor?: FrontDoor;
  failureDir?: string;
  /** Event source mappings to run; default streamConsumers. Empty: no pollers. */
  consumers?: readonly ConsumerSettings[];
  /** Poller tuning (tests): see EventSourceMappingOptions. */
  esm?: { pollIntervalMs?: number; retryBackoffMs?: { min: number; max: number }; clock?: () => number };
  /** Fixed emulator ports (NoSQL Workbench keeps its connection); default random. */
  dynamodbPort?: number;
  kinesisPort?: number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
  /** Where the local JWT signing key lives; default the data dir, else `.pulse`. */
  keyDir?: string;
  /**
   * Scheduled functions (lib/schedules.ts) run on timers; `false` starts no timer (tests drive
   * them with `runSchedule`). Default: every schedule.
   */
  schedules?: readonly ScheduleDef[] | false;
  /** Browser origins allowed by CORS (`--cors-origins`); default: PULSE_CORS_ORIGINS, else none. */
  corsOrigins?: readonly string[];
  /**
   * Hold every handler's AWS calls to its lib/access.ts entry, as IAM does (default true): a call
   * outside it fails with AccessDeniedException.
   */
  enforceAccess?: boolean;
  /** One `logger.info` line per API request (route, status, duration). Default off. */
  logRequests?: boolean;
  /**
   * The archive (docs/archive.md): Parquet under `<dataDir>/archive` (else a temp folder removed at
   * close), written by a local Firehose with these buffering hints (default lib/archive.ts local).
   * `false`: no Firehose (queries still answer, over an empty archive).
   */
  archive?: { buffering?: BufferingHints } | false;
  /** console (issue 18): serve the console at `/console` (built first when stale). Default off. */
  console?: boolean;
}

export interface LocalStack {
  url: string;
  endpoints: Endpoints;
  names: { tables: Record<TableName, string>; stream: string; streamArn: string };
  /** True when the service is one named by AWS_ENDPOINT_URL_*, not started here. */
  external: { dynamodb: boolean; kinesis: boolean };
  failureDir: string;
  /** Where SDKs send events: the ALB door's URL with `frontDoor: 'alb'`, else `url`. */
  ingestUrl: string;
  /** The folder standing in for each bucket of lib/buckets.ts. */
  bucketDirs: Readonly<Record<BucketName, string>>;
  /** The object server answering the folders' presigned URLs. */
  objectsUrl: string;
  dataDir?: string;
  esm: EventSourceMappingEmulator;
  /** The archive's folders and its Firehose (undefined when `archive: false`). */
  archive: { dir: string; exportsDir: string; firehose: LocalFirehose | undefined };
  /**
   * Announce an object written to the failure folder, as S3 does in AWS: runs the failure index
   * (lib/stream.ts failureIndexer) on it. Its own pollers call it; pass it to others you start.
   */
  onFailureWritten: (key: string, size: number) => Promise<void>;
  /** What this stack set in process.env for the functions. */
  env: Readonly<Record<string, string>>;
  /**
   * eventbridge destinations: the PutEvents endpoint filing each bus's events (undefined when
   * AWS_ENDPOINT_URL_EVENTBRIDGE names another), and the bus standing for the stack's own.
   */
  eventBridge: { endpoint: LocalEventBridge | undefined; engagementBus: string };
  /** The local signing key: mint analyst/admin tokens with lib/local/keys mintToken. */
  keys: LocalKeys;
  /** Where the signing keys (and bin/local.ts's dev write key) are kept. */
  keyDir: string;
  /**
   * Run a schedule's handler now, as its timer would, after any run in flight; `time` is the
   * scheduled event's time (default now). Resolves with the handler's result.
   */
  runSchedule(name: string, options?: { time?: Date }): Promise<unknown>;
  close(): Promise<void>;
}

/** Sets variables and remembers how to undo exactly what it set. */
const applyEnv = (vars: Record<string, string>) => {
  const previous = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(vars)) {
    previous.set(k, process.env[k]);
    process.env[k] = v;
  }
  return () => {
    for (const [k, before] of previous) {
      // Leave alone what someone else changed since (another stack, a test).
      if (process.env[k] !== vars[k]) continue;
      if (before === undefined) delete process.env[k];
      else process.env[k] = before;
    }
  };
};

/** The stack's own stage name and the service name its functions log under. */
export const LOCAL_STAGE = 'local';
export const LOCAL_SERVICE_NAME = 'pulse-local';

/**
 * The settings the functions get locally: lib/config.ts DEFAULTS, as in a deployed stack, each one
 * overridable by its variable (LocalStackOptions.env, then process.env); the stage is `local`.
 * A value the deployed stack would refuse is refused here too, naming the variable.
 */
export const localSettings = (
  lookup: (name: string) => string | undefined,
  corsOrigins: readonly string[] = parseCorsOrigins(lookup(ENV.corsOrigins)),
): FunctionSettings => {
  const refuse = (name: string, want: string, got: string): never => {
    throw new Error(`${name} must be ${want}, got ${JSON.stringify(got)}`);
  };
  const number = (name: string, fallback: number): number => {
    const raw = lookup(name);
    if (!raw) return fallback;
    const n = Number(raw);
    return Number.isInteger(n) && n > 0 ? n : refuse(name, 'a positive integer', raw);
  };
  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const raw = lookup(name);
    if (!raw) return fallback;
    return (values as readonly string[]).includes(raw)
      ? (raw as T)
      : refuse(name, `one of ${values.join(', ')}`, raw);
  };
  return {
    stage: LOCAL_STAGE,
    consentMode: oneOf(ENV.consentMode, ['required', 'off'], DEFAULTS.consentMode),
    consentTtlDays: number(ENV.consentTtlDays, DEFAULTS.consentTtlDays),
    piiMode: oneOf(ENV.piiMode, ['reject', 'hash', 'off'], DEFAULTS.piiMode),
    retentionDays: number(ENV.retentionDays, DEFAULTS.retentionDays),
    eventHorizonDays: number(ENV.eventHorizonDays, DEFAULTS.eventHorizonDays),
    failureRetentionDays: number(ENV.failureRetentionDays, DEFAULTS.failureRetentionDays),
    corsOrigins,
    identityVerification: oneOf(ENV.identityVerification, ['required', 'off'], DEFAULTS.identityVerification),
    // Clean data at the edge (docs/data-quality.md).
    botMode: oneOf(ENV.botMode, ['flag', 'drop'] as const, DEFAULTS.botMode),
    botMaxEventsPerMinute:
      lookup(ENV.botMaxEventsPerMinute) === '0'
        ? 0
        : number(ENV.botMaxEventsPerMinute, DEFAULTS.botMaxEventsPerMinute),
    countryMode: oneOf(ENV.countryMode, ['off', 'cloudfront', 'mmdb'] as const, DEFAULTS.countryMode),
    ...(lookup(ENV.geoDatabase) ? { geoDatabase: lookup(ENV.geoDatabase) as string } : {}),
    ...(lookup(ENV.utmMapping) ? { utmMapping: lookup(ENV.utmMapping) as string } : {}),
  };
};

export const startLocalStack = async (options: LocalStackOptions = {}): Promise<LocalStack> => {
  const logger = options.logger ?? console;
  const overrides = options.env ?? {};
  const lookup = (k: string): string | undefined => overrides[k] ?? process.env[k];
  const region = lookup('AWS_REGION') || DEFAULTS.region;
  // First: a bad setting is refused before anything starts.
  const settings = localSettings(lookup, options.corsOrigins);
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  // In memory, the buckets still need folders: in a temp one, removed at close if still empty.
  const tempRoot = dataDir ? undefined : mkdtempSync(join(tmpdir(), 'pulse-local-'));
  const bucketRoot = (dataDir ?? tempRoot) as string;
  const failureDir = resolve(options.failureDir ?? join(bucketRoot, 'failures'));
  const bucketDirs: Record<BucketName, string> = Object.fromEntries(
    bucketList.map((b) => [b.name, b.name === 'failures' ? failureDir : join(bucketRoot, b.name)]),
  ) as Record<BucketName, string>;
  for (const dir of Object.values(bucketDirs)) mkdirSync(dir, { recursive: true });
  const removeEmptyTemp = () => {
    if (!tempRoot) return;
    try {
      for (const dir of Object.values(bucketDirs)) if (dir.startsWith(tempRoot)) rmdirSync(dir);
      rmdirSync(tempRoot);
    } catch {
      logger.info(`[local stack] bucket folders kept in ${tempRoot}`);
    }
  };

  // Archive: in memory, the archive and its exports are copies of what the emulators held: they go
  // with them at close.
  const archiveDirs = { dir: bucketDirs.archive, exportsDir: bucketDirs.exports };
  const removeTempArchive = () => {
    if (tempRoot) for (const dir of Object.values(archiveDirs)) rmSync(dir, { recursive: true, force: true });
  };
  // Destinations (docs/destinations.md): credentials kept under --data, else in a temp folder removed at close.
  const secretsDir = dataDir ? join(dataDir, 'secrets') : mkdtempSync(join(tmpdir(), 'pulse-secrets-'));
  const removeTempSecrets = () => {
    if (!dataDir) rmSync(secretsDir, { recursive: true, force: true });
  };

  let emulators: Emulators;
  try {
    emulators = await startEmulators({
      region,
      env: { ...process.env, ...overrides },
      ...(dataDir ? { dataDir } : {}),
      ...(options.dynamodbPort !== undefined ? { dynamodbPort: options.dynamodbPort } : {}),
      ...(options.kinesisPort !== undefined ? { kinesisPort: options.kinesisPort } : {}),
    });
  } catch (err) {
    removeTempArchive();
    removeEmptyTemp();
    removeTempSecrets();
    throw err;
  }

  // The same JWT verifier as in AWS, trusting the local signing key instead of Cognito's.
  const keyDir = options.keyDir ?? dataDir ?? DEFAULT_KEY_DIR;
  const keys = await ensureLocalKeys(keyDir);
  const localSigningKey = ensureLocalHmacKey(keyDir);
  // Presigned URLs of the bucket folders (uploads, export downloads) are answered here.
  let objectServer: ObjectServer;
  try {
    objectServer = await startObjectServer({
      dirs: bucketDirs,
      signingKey: Buffer.from(localSigningKey, 'base64url'),
      host: options.host ?? '127.0.0.1',
    });
  } catch (err) {
    await emulators.close().catch(() => undefined);
    removeEmptyTemp();
    throw err;
  }
  // eventbridge destinations: PutEvents answered here, each bus's events filed under the data folder
  // (unless AWS_ENDPOINT_URL_EVENTBRIDGE names another endpoint); only these buses are allowed.
  const eventBusDir = join(bucketRoot, 'eventbridge');
  const engagementBus = engagementBusName(LOCAL_STAGE);
  const allowedBuses = [engagementBus, ...parseEventBuses(lookup(ENV.localEventBuses))].map((b) =>
    eventBusArn(b, { partition: 'aws', region, account: LOCAL_ACCOUNT_ID }),
  );
  let eventBridge: LocalEventBridge | undefined;
  try {
    if (!lookup('AWS_ENDPOINT_URL_EVENTBRIDGE'))
      eventBridge = await startLocalEventBridge({
        dir: eventBusDir,
        region,
        account: LOCAL_ACCOUNT_ID,
        host: options.host ?? '127.0.0.1',
      });
  } catch (err) {
    await objectServer.close().catch(() => undefined);
    await emulators.close().catch(() => undefined);
    removeEmptyTemp();
    throw err;
  }
  const removeTempBuses = () => {
    if (tempRoot) rmSync(eventBusDir, { recursive: true, force: true });
  };
  const resourceNames: ResourceNames = {
    tables: emulators.names.tables,
    stream: emulators.names.stream,
    userPoolId: lookup(ENV.userPoolId) || DEFAULTS.localUserPoolId,
    userPoolClientId: lookup(ENV.userPoolClientId) || DEFAULTS.localUserPoolClientId,
    eventBusArns: allowedBuses,
  };
  const env: Record<string, string> = {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: lookup('AWS_DEFAULT_REGION') || region,
    AWS_ACCESS_KEY_ID: lookup('AWS_ACCESS_KEY_ID') || 'local',
    AWS_SECRET_ACCESS_KEY: lookup('AWS_SECRET_ACCESS_KEY') || 'local',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: emulators.endpoints.kinesis,
    ...(eventBridge ? { AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url } : {}),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The same variables as every deployed function (lib/environment.ts)...
    ...sharedEnvironment(settings, resourceNames),
    // ...but one process runs every handler module, so the per-module ones cannot differ: the service
    // name is the stack's (each log line's function_name, pulse-local-<module>, names the module), and
    // the signing key and a folder stand in for the secret and the bucket.
    [ENV.serviceName]: lookup(ENV.serviceName) || LOCAL_SERVICE_NAME,
    ...Object.fromEntries(bucketList.map((b) => [b.localEnvVar, bucketDirs[b.name]])),
    [ENV.localObjectsUrl]: objectServer.url,
    [ENV.localJwks]: jwksJson(keys),
    [ENV.localSigningKey]: localSigningKey,
    // Destinations (docs/destinations.md): a folder stands in for Secrets Manager's credentials.
    [ENV.localSecretsDir]: secretsDir,
    // Predictions: no Step Functions here, so a requested training runs in process (docs/models.md).
    [ENV.modelsInProcess]: 'true',
    // traits: CRM connectors' tokens, a JSON file beside the keys standing in for the `crm` secret.
    [ENV.localCrmSecretFile]: join(keyDir, 'crm-secrets.json'),
    // EMF lines are for CloudWatch; on a laptop they only bury the logs.
    POWERTOOLS_METRICS_DISABLED: lookup('POWERTOOLS_METRICS_DISABLED') || 'true',
    ...overrides,
  };
  const restoreEnv = applyEnv(env);
  const stopAccessGuard =
    options.enforceAccess === false
      ? () => undefined
      : startAccessGuard({
          region,
          tables: emulators.names.tables,
          stream: emulators.names.stream,
          streamArn: emulators.streamArn,
          bucketDirs,
          stage: settings.stage,
          eventBusArns: allowedBuses,
        });

  const resolveHandler = options.resolveHandler ?? createHandlerResolver(options.functionsDir);
  const onFailureWritten = async (key: string, size: number) => {
    const indexer = await resolveHandler(failureIndexer.handler);
    await invokeHandler(indexer, objectCreatedEvent({ bucket: LOCAL_FAILURE_BUCKET, key, size, region }), {
      handlerModule: failureIndexer.handler,
      functionName: localFunctionName(failureIndexer.handler),
      region,
      timeoutMs: 10_000,
    });
  };
  let gateway: Gateway | undefined;
  let albDoor: Gateway | undefined;
  let esm: EventSourceMappingEmulator | undefined;
  let scheduler: Scheduler | undefined;
  let firehose: LocalFirehose | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= stopAll();
    return closing;
  };
  const stopAll = async () => {
    const errors: unknown[] = [];
    // Timers and pollers first (they use the emulators), then the server, then the emulators.
    await scheduler?.stop().catch((e) => errors.push(e));
    await esm?.stop().catch((e) => errors.push(e));
    await firehose?.stop().catch((e) => errors.push(e));
    await gateway?.close().catch((e) => errors.push(e));
    await albDoor?.close().catch((e) => errors.push(e));
    await objectServer.close().catch((e) => errors.push(e));
    await eventBridge?.close().catch((e) => errors.push(e));
    await emulators.close().catch((e) => errors.push(e));
    stopAccessGuard();
    restoreEnv();
    removeTempArchive();
    removeTempBuses();
    removeEmptyTemp();
    removeTempSecrets();
    if (errors.length) throw new AggregateError(errors, 'Local stack did not stop cleanly');
  };

  try {
    esm = await startEventSourceMappings({
      kinesis: emulators.kinesis,
      streamName: emulators.names.stream,
      streamArn: emulators.streamArn,
      region,
      failureDir,
      resolveHandler,
      onFailureWritten,
      logger,
      ...(options.consumers ? { consumers: options.consumers } : {}),
      ...(dataDir ? { checkpointFile: join(dataDir, 'esm-checkpoints.json') } : {}),
      ...options.esm,
    });
    if (options.archive !== false)
      firehose = await LocalFirehose.start({
        kinesis: emulators.kinesis,
        streamName: emulators.names.stream,
        streamArn: emulators.streamArn,
        region,
        archiveDir: archiveDirs.dir,
        resolveHandler,
        logger,
        ...(options.archive?.buffering ? { buffering: options.archive.buffering } : {}),
        ...(dataDir ? { checkpointFile: join(dataDir, 'archive-checkpoints.json') } : {}),
      });
    gateway = await startGateway({
      resolveHandler,
      region,
      logger,
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      corsOrigins: settings.corsOrigins,
      ...(options.logRequests ? { requestLog: (line: string) => logger.info(line) } : {}),
      // console (issue 18)
      ...(options.console ? { pages: await createConsoleServer({ keys, logger }) } : {}),
    });
    if (options.frontDoor === 'alb') {
      albDoor = await startGateway({
        resolveHandler,
        region,
        logger,
        port: 0,
        host: options.host ?? '127.0.0.1',
        corsOrigins: settings.corsOrigins,
        frontDoor: 'alb',
        ...(options.logRequests ? { requestLog: (line: string) => logger.info(`[alb] ${line}`) } : {}),
      });
    }
    scheduler = startScheduler({
      schedules: options.schedules || scheduleList,
      timers: options.schedules !== false,
      resolveHandler,
      region,
      logger,
    });
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }

  return {
    url: gateway.url,
    ingestUrl: albDoor?.url ?? gateway.url,
    endpoints: emulators.endpoints,
    names: { ...emulators.names, streamArn: emulators.streamArn },
    external: emulators.external,
    failureDir,
    bucketDirs,
    objectsUrl: objectServer.url,
    ...(dataDir ? { dataDir } : {}),
    esm,
    archive: { ...archiveDirs, firehose },
    onFailureWritten,
    env,
    eventBridge: { endpoint: eventBridge, engagementBus },
    keys,
    keyDir,
    runSchedule: (name, runOptions) => (scheduler as Scheduler).run(name, runOptions),
    close,
  };
};
