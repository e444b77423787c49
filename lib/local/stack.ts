/**
 * The whole local stack in one process: emulators (or external endpoints), tables and stream
 * from the same declarations as the CDK stack, the API Gateway emulator on the route table, and
 * the event source mapping pollers. Handler modules read process.env when first imported, so the
 * environment is set before the gateway or a poller can import one; close() puts it back.
 *
 * process.env is process-wide: run one local stack per process at a time (a second one pointed
 * at the first one's emulators sets identical values, so that case works too).
 */

import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULTS, ENV } from '../config';
import { parseCorsOrigins } from '../cors';
import { type FunctionSettings, type ResourceNames, sharedEnvironment } from '../environment';
import { type ScheduleDef, schedules as scheduleList } from '../schedules';
import type { ConsumerSettings } from '../stream';
import { failureIndexer } from '../stream';
import type { TableName } from '../tables';
import { startAccessGuard } from './access-guard';
// console (issue 18)
import { createConsoleServer } from './console';
import { type Emulators, type Endpoints, startEmulators } from './emulators';
import { type EventSourceMappingEmulator, startEventSourceMappings } from './event-source-mapping';
import { type Gateway, startGateway } from './gateway';
import { DEFAULT_KEY_DIR, ensureLocalHmacKey, ensureLocalKeys, jwksJson, type LocalKeys } from './keys';
import { createHandlerResolver, type HandlerResolver, invokeHandler, localFunctionName } from './lambda';
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
  dataDir?: string;
  esm: EventSourceMappingEmulator;
  /**
   * Announce an object written to the failure folder, as S3 does in AWS: runs the failure index
   * (lib/stream.ts failureIndexer) on it. Its own pollers call it; pass it to others you start.
   */
  onFailureWritten: (key: string, size: number) => Promise<void>;
  /** What this stack set in process.env for the functions. */
  env: Readonly<Record<string, string>>;
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
  // In memory, failed batches still need a folder: a temp one, removed at close if still empty.
  const tempRoot = options.failureDir || dataDir ? undefined : mkdtempSync(join(tmpdir(), 'pulse-local-'));
  const failureDir = resolve(
    options.failureDir ?? (dataDir ? join(dataDir, 'failures') : join(tempRoot as string, 'failures')),
  );
  mkdirSync(failureDir, { recursive: true });
  const removeEmptyTemp = () => {
    if (!tempRoot) return;
    try {
      rmdirSync(failureDir);
      rmdirSync(tempRoot);
    } catch {
      logger.info(`[local stack] failed batches kept in ${failureDir}`);
    }
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
    removeEmptyTemp();
    throw err;
  }

  // The same JWT verifier as in AWS, trusting the local signing key instead of Cognito's.
  const keyDir = options.keyDir ?? dataDir ?? DEFAULT_KEY_DIR;
  const keys = await ensureLocalKeys(keyDir);
  const resourceNames: ResourceNames = {
    tables: emulators.names.tables,
    stream: emulators.names.stream,
    userPoolId: lookup(ENV.userPoolId) || DEFAULTS.localUserPoolId,
    userPoolClientId: lookup(ENV.userPoolClientId) || DEFAULTS.localUserPoolClientId,
  };
  const env: Record<string, string> = {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: lookup('AWS_DEFAULT_REGION') || region,
    AWS_ACCESS_KEY_ID: lookup('AWS_ACCESS_KEY_ID') || 'local',
    AWS_SECRET_ACCESS_KEY: lookup('AWS_SECRET_ACCESS_KEY') || 'local',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: emulators.endpoints.kinesis,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The same variables as every deployed function (lib/environment.ts)...
    ...sharedEnvironment(settings, resourceNames),
    // ...but one process runs every handler module, so the per-module ones cannot differ: the service
    // name is the stack's (each log line's function_name, pulse-local-<module>, names the module), and
    // the signing key and a folder stand in for the secret and the bucket.
    [ENV.serviceName]: lookup(ENV.serviceName) || LOCAL_SERVICE_NAME,
    [ENV.localFailureDir]: failureDir,
    [ENV.localJwks]: jwksJson(keys),
    [ENV.localSigningKey]: ensureLocalHmacKey(keyDir),
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
          failureDir,
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
  let esm: EventSourceMappingEmulator | undefined;
  let scheduler: Scheduler | undefined;
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
    await gateway?.close().catch((e) => errors.push(e));
    await emulators.close().catch((e) => errors.push(e));
    stopAccessGuard();
    restoreEnv();
    removeEmptyTemp();
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
    endpoints: emulators.endpoints,
    names: { ...emulators.names, streamArn: emulators.streamArn },
    external: emulators.external,
    failureDir,
    ...(dataDir ? { dataDir } : {}),
    esm,
    onFailureWritten,
    env,
    keys,
    keyDir,
    runSchedule: (name, runOptions) => (scheduler as Scheduler).run(name, runOptions),
    close,
  };
};
