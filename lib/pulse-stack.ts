import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Fn, Lazy, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct, Node } from 'constructs';
import { parseUtmMapping } from '../functions/core/edge/campaign-attribution';
import { accessFor, destinationSecretPrefix } from './access';
import { archive as archiveDecl } from './archive';
import { DEFAULTS } from './config';
import { Aggregation } from './constructs/aggregation';
import { PulseApi } from './constructs/api';
import { Archive } from './constructs/archive';
import { type MfaMode, PulseAuth } from './constructs/auth';
import { DataBuckets } from './constructs/buckets';
// console (issue 18)
import { PulseConsole } from './constructs/console';
// eventbridge destinations (docs/destinations.md)
import { EventBuses } from './constructs/event-buses';
import { functionId, type GrantTargets, PulseFunction } from './constructs/functions';
import { IngestAlb } from './constructs/ingest-alb';
// predictions (docs/models.md)
import { ModelWorkflow, WORKFLOW_STEP_SIZING } from './constructs/models';
import { Observability } from './constructs/observability';
import { SCHEDULE_SIZING, Schedules } from './constructs/schedules';
import { PulseSecrets } from './constructs/secrets';
import { EventStream, type ShardMode } from './constructs/stream';
import { PulseTables, pascal } from './constructs/tables';
import { functionEnvironment, type ResourceNames } from './environment';
import { parseEventBuses } from './event-buses';
import { albRoutes, FRONT_DOORS, type FrontDoor } from './front-door';
import { fallbackRoute, handlerModules, routes } from './routes';
import { schedules } from './schedules';
import { eventStream, failureIndexer, streamConsumers } from './stream';
import { type TableName, tableList } from './tables';
import { modelWorkflow } from './workflows';

/** Repository root (this file lives in lib/). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type PiiMode = 'reject' | 'hash' | 'off';

/** Everything the stack reads from CDK context; bin/pulse.ts documents each key. */
export interface PulseSettings {
  readonly stage: string;
  readonly shardMode: ShardMode;
  readonly shardCount: number;
  readonly consentMode: 'required' | 'off';
  readonly consentTtlDays: number;
  readonly piiMode: PiiMode;
  readonly retentionDays: number;
  readonly eventHorizonDays: number;
  readonly deletionProtection: boolean;
  readonly removalPolicy: 'retain' | 'destroy';
  readonly logRetentionDays: number;
  readonly failureRetentionDays: number;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  readonly corsOrigins: readonly string[];
  /** `required`: a client key needs a user hash to act for a user id (docs/identity-verification.md). */
  readonly identityVerification: 'required' | 'off';
  readonly kmsKey: boolean;
  readonly mfa: MfaMode;
  readonly threatProtection: boolean;
  readonly alarmEmail: string | undefined;
  /** `alb` adds an Application Load Balancer for the write-key routes (lib/front-door.ts). */
  readonly frontDoor: FrontDoor;
  /** ACM certificate of the ALB's HTTPS listener; required with frontDoor `alb`. */
  readonly ingestCertificateArn: string | undefined;
  // Clean data at the edge (docs/data-quality.md).
  readonly botMode: 'flag' | 'drop';
  readonly botMaxEventsPerMinute: number;
  readonly countryMode: 'off' | 'cloudfront' | 'mmdb';
  /** Local path of the GeoLite2/GeoIP2 Country database shipped as a layer (countryMode `mmdb`). */
  readonly geoDatabase: string | undefined;
  readonly utmMapping: string | undefined;
  // eventbridge destinations: buses (names or ARNs) besides pulse-engagement-<stage> they may use.
  readonly eventBuses: readonly string[];
}

export const SETTING_DEFAULTS: PulseSettings = {
  stage: DEFAULTS.stage,
  shardMode: 'on-demand',
  shardCount: eventStream.defaultShardCount,
  consentMode: DEFAULTS.consentMode,
  consentTtlDays: DEFAULTS.consentTtlDays,
  piiMode: DEFAULTS.piiMode,
  retentionDays: DEFAULTS.retentionDays,
  eventHorizonDays: DEFAULTS.eventHorizonDays,
  deletionProtection: false,
  removalPolicy: 'retain',
  logRetentionDays: 30,
  failureRetentionDays: DEFAULTS.failureRetentionDays,
  throttleRateLimit: 1000,
  throttleBurstLimit: 2000,
  corsOrigins: [],
  identityVerification: DEFAULTS.identityVerification,
  kmsKey: false,
  mfa: 'optional',
  threatProtection: true,
  alarmEmail: undefined,
  frontDoor: 'httpApi',
  ingestCertificateArn: undefined,
  // Clean data at the edge.
  botMode: DEFAULTS.botMode,
  botMaxEventsPerMinute: DEFAULTS.botMaxEventsPerMinute,
  countryMode: DEFAULTS.countryMode,
  geoDatabase: undefined,
  utmMapping: undefined,
  // eventbridge destinations
  eventBuses: [],
};

const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);

/** Reads and validates the `pulse:*` context keys (cdk.json, or `-c key=value`, which arrive as strings). */
export const readSettings = (node: Node): PulseSettings => {
  const raw = (key: string): unknown => node.tryGetContext(`pulse:${key}`);
  const fail = (key: string, want: string, got: unknown): never => {
    throw new Error(`Context pulse:${key} must be ${want}, got ${JSON.stringify(got)}`);
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = raw(key);
    if (v === undefined) return dflt;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    return fail(key, 'true or false', v);
  };
  const int = (key: string, dflt: number, min: number, max: number): number => {
    const v = raw(key);
    if (v === undefined) return dflt;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) return fail(key, `an integer in ${min}..${max}`, v);
    return n;
  };
  const oneOf = <T extends string>(key: string, values: readonly T[], dflt: T): T => {
    const v = raw(key);
    if (v === undefined) return dflt;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    return fail(key, `one of ${values.join(', ')}`, v);
  };
  const d = SETTING_DEFAULTS;

  const stage = raw('stage') ?? d.stage;
  if (typeof stage !== 'string' || !/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    fail('stage', 'lowercase letters, digits and dashes (max 20), starting with a letter', stage);
  }
  const logRetentionDays = int('logRetentionDays', d.logRetentionDays, 1, 3653);
  if (!RETENTION_DAYS.has(logRetentionDays)) {
    fail(
      'logRetentionDays',
      `a CloudWatch Logs retention (${[...RETENTION_DAYS].join(', ')})`,
      logRetentionDays,
    );
  }
  const corsRaw = raw('corsOrigins') ?? d.corsOrigins;
  const corsOrigins = (Array.isArray(corsRaw) ? corsRaw : String(corsRaw).split(','))
    .map((o) => String(o).trim())
    .filter(Boolean);
  const alarmEmail = raw('alarmEmail');
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(alarmEmail))) {
    fail('alarmEmail', 'an email address', alarmEmail);
  }
  const certificateArn = raw('ingestCertificateArn');
  if (
    certificateArn !== undefined &&
    (typeof certificateArn !== 'string' || !/^arn:aws[\w-]*:acm:/.test(certificateArn))
  ) {
    fail('ingestCertificateArn', 'an ACM certificate ARN', certificateArn);
  }
  const settings: PulseSettings = {
    stage: stage as string,
    shardMode: oneOf('shardMode', ['on-demand', 'provisioned'], d.shardMode),
    shardCount: int('shardCount', d.shardCount, 1, 500),
    consentMode: oneOf('consentMode', ['required', 'off'], d.consentMode),
    consentTtlDays: int('consentTtlDays', d.consentTtlDays, 1, 3650),
    piiMode: oneOf('piiMode', ['reject', 'hash', 'off'], d.piiMode),
    retentionDays: int('retentionDays', d.retentionDays, 1, 3650),
    eventHorizonDays: int('eventHorizonDays', d.eventHorizonDays, 1, 365),
    deletionProtection: bool('deletionProtection', d.deletionProtection),
    removalPolicy: oneOf('removalPolicy', ['retain', 'destroy'], d.removalPolicy),
    logRetentionDays,
    failureRetentionDays: int('failureRetentionDays', d.failureRetentionDays, 1, 3650),
    throttleRateLimit: int('throttleRateLimit', d.throttleRateLimit, 1, 1_000_000),
    throttleBurstLimit: int('throttleBurstLimit', d.throttleBurstLimit, 1, 1_000_000),
    corsOrigins,
    identityVerification: oneOf('identityVerification', ['required', 'off'], d.identityVerification),
    kmsKey: bool('kmsKey', d.kmsKey),
    mfa: oneOf('mfa', ['optional', 'required'], d.mfa),
    threatProtection: bool('threatProtection', d.threatProtection),
    alarmEmail: alarmEmail as string | undefined,
    frontDoor: oneOf('frontDoor', FRONT_DOORS, d.frontDoor),
    ingestCertificateArn: certificateArn as string | undefined,
    // Clean data at the edge.
    ...readEdgeSettings(raw, int, oneOf, fail),
    // eventbridge destinations: a bounded list, never `*`.
    eventBuses: (() => {
      try {
        return parseEventBuses(raw('eventBuses'));
      } catch (error) {
        return fail(
          'eventBuses',
          `event bus names or ARNs, comma-separated (${(error as Error).message})`,
          raw('eventBuses'),
        );
      }
    })(),
  };
  if (settings.frontDoor === 'alb' && !settings.ingestCertificateArn) {
    fail('ingestCertificateArn', "an ACM certificate ARN when pulse:frontDoor is 'alb'", certificateArn);
  }
  if (settings.deletionProtection && settings.removalPolicy === 'destroy') {
    fail('removalPolicy', "'retain' while pulse:deletionProtection is true", settings.removalPolicy);
  }
  return settings;
};

/** Clean data at the edge: bots, country, UTM mapping (docs/data-quality.md). */
const readEdgeSettings = (
  raw: (key: string) => unknown,
  int: (key: string, dflt: number, min: number, max: number) => number,
  oneOf: <T extends string>(key: string, values: readonly T[], dflt: T) => T,
  fail: (key: string, want: string, got: unknown) => never,
) => {
  const d = SETTING_DEFAULTS;
  const countryMode = oneOf('countryMode', ['off', 'cloudfront', 'mmdb'], d.countryMode);
  const geoDatabase = raw('geoDatabase');
  if (geoDatabase !== undefined && (typeof geoDatabase !== 'string' || !existsSync(geoDatabase)))
    fail('geoDatabase', 'the path of a .mmdb file', geoDatabase);
  if (countryMode === 'mmdb' && geoDatabase === undefined)
    fail('geoDatabase', "a .mmdb file when pulse:countryMode is 'mmdb'", geoDatabase);
  const utmRaw = raw('utmMapping');
  const utmMapping = utmRaw === undefined || typeof utmRaw === 'string' ? utmRaw : JSON.stringify(utmRaw);
  try {
    parseUtmMapping(utmMapping);
  } catch (error) {
    fail('utmMapping', `a UTM mapping (${(error as Error).message})`, utmRaw);
  }
  return {
    botMode: oneOf('botMode', ['flag', 'drop'], d.botMode),
    botMaxEventsPerMinute: int('botMaxEventsPerMinute', d.botMaxEventsPerMinute, 0, 1_000_000),
    countryMode,
    geoDatabase: geoDatabase as string | undefined,
    utmMapping,
  };
};

/** The doors that enrich events at the edge (the country database goes to these). */
const EDGE_MODULES = new Set(['ingest/engagement', 'segmentio/tracking', 'quality/replay']);

const HTTP_SIZING = { memorySize: 512, timeout: Duration.seconds(10) };
/** The consumer folds up to a batch of 500 records per invocation. */
const CONSUMER_SIZING = { memorySize: 1024, timeout: Duration.seconds(60) };
/**
 * Erasure and export walk every personal table and the person's failed batches (found through the
 * failure index): more time, still under the HTTP API's 30-second integration limit.
 */
const PRIVACY_SIZING = { memorySize: 1024, timeout: Duration.seconds(29) };

const sizingFor = (handlerModule: string): { memorySize: number; timeout: Duration } =>
  handlerModule === 'privacy/privacy' ? PRIVACY_SIZING : HTTP_SIZING;

export interface PulseStackProps extends StackProps {
  /** Defaults to the `pulse:*` context of the app. */
  readonly settings?: PulseSettings;
  /** Folder of the handler modules; defaults to the repository's `functions/`. */
  readonly functionsDir?: string;
  /** Where esbuild runs (holds package-lock.json and node_modules); defaults to the repository root. */
  readonly projectRoot?: string;
}

/**
 * The Pulse backend: HTTP API -> Lambda -> Kinesis -> Lambda consumer -> DynamoDB, and the
 * scheduled functions EventBridge invokes.
 */
export class PulseStack extends Stack {
  readonly settings: PulseSettings;
  /** One function per handler module (routes, fallback, stream consumers, schedules). */
  readonly functions: ReadonlyMap<string, PulseFunction>;
  readonly tables: PulseTables;
  readonly eventStream: EventStream;
  readonly auth: PulseAuth;
  readonly api: PulseApi;
  readonly aggregation: Aggregation;
  /** Every bucket of lib/buckets.ts, by name (the failure bucket is the aggregation's). */
  readonly buckets: DataBuckets;
  /** The archive: Glue table, Athena workgroup, Firehose delivery (docs/archive.md). */
  readonly archive: Archive;
  readonly schedules: Schedules;
  /** The ALB front door, with `pulse:frontDoor=alb`. */
  readonly ingestAlb: IngestAlb | undefined;
  /** predictions (docs/models.md) */
  readonly models: ModelWorkflow;
  readonly secrets: PulseSecrets;
  readonly observability: Observability;
  readonly encryptionKey: kms.Key | undefined;
  /** The names (tokens) lib/environment.ts turns into every function's environment. */
  readonly resourceNames: ResourceNames;
  /** console (issue 18): the analyst console, its distribution and its app client. */
  readonly console: PulseConsole;
  /** eventbridge destinations: the stack's engagement bus and the buses they may put events on. */
  readonly eventBuses: EventBuses;

  constructor(scope: Construct, id: string, props: PulseStackProps = {}) {
    super(scope, id, props);
    const settings = props.settings ?? readSettings(this.node);
    this.settings = settings;
    // Cost allocation and ownership on every taggable resource.
    Tags.of(this).add('Project', 'Pulse');
    Tags.of(this).add('Stage', settings.stage);
    const removalPolicy = settings.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.encryptionKey = settings.kmsKey
      ? new kms.Key(this, 'Key', {
          description: `Pulse ${settings.stage}: stream, tables, signing secret and alarm topic`,
          enableKeyRotation: true,
          removalPolicy,
        })
      : undefined;
    const encryptionKey = this.encryptionKey;

    this.observability = new Observability(this, 'Observability', {
      stage: settings.stage,
      logRetention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy,
      ...(encryptionKey ? { encryptionKey } : {}),
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });
    this.tables = new PulseTables(this, 'Tables', {
      deletionProtection: settings.deletionProtection,
      removalPolicy,
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    this.eventStream = new EventStream(this, 'Events', {
      shardMode: settings.shardMode,
      shardCount: settings.shardCount,
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    const stream = this.eventStream.stream;
    this.secrets = new PulseSecrets(this, 'Secrets', {
      removalPolicy,
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    // The buckets now (the privacy function needs the failure bucket's name); consumers after the functions.
    this.aggregation = new Aggregation(this, 'Aggregation', {
      failureRetentionDays: settings.failureRetentionDays,
      removalPolicy,
    });
    this.buckets = new DataBuckets(this, 'Buckets', {
      existing: new Map([['failures', this.aggregation.failureBucket]]),
      accessLogBucket: this.aggregation.accessLogBucket,
      days: { failureRetentionDays: settings.failureRetentionDays, retentionDays: settings.retentionDays },
      removalPolicy,
    });
    // Archive (docs/archive.md): Glue table and Athena workgroup now (functions query them); its
    // Firehose after the functions (it invokes the transformation).
    this.archive = new Archive(this, 'Archive', {
      stage: settings.stage,
      bucket: this.buckets.byName.get('archive') as s3.IBucket,
      resultsBucket: this.buckets.byName.get('exports') as s3.IBucket,
      logGroup: this.observability.logGroup(this, 'ArchiveDeliveryLogs'),
    });
    this.auth = new PulseAuth(this, 'Auth', {
      deletionProtection: settings.deletionProtection,
      removalPolicy,
      mfa: settings.mfa,
      threatProtection: settings.threatProtection,
    });

    // console (issue 18): the analyst console and its app client. Built before the functions, whose
    // token verifier accepts the console's client too; the API (built after them) is named lazily.
    this.console = new PulseConsole(this, 'Console', {
      stage: settings.stage,
      userPool: this.auth.userPool,
      apiDomain: Lazy.string({
        produce: () => `${this.api.httpApi.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
      }),
      sourceDir: join(PROJECT_ROOT, 'console'),
      accessLogBucket: this.aggregation.accessLogBucket,
      deployLogGroup: this.observability.logGroup(this, 'ConsoleDeployLogGroup'),
      removalPolicy,
    });

    // eventbridge destinations (docs/destinations.md): the stack's bus, and what PutEvents may reach.
    this.eventBuses = new EventBuses(this, 'EventBuses', {
      stage: settings.stage,
      extraBuses: settings.eventBuses,
    });
    // Where the functions find the resources (tokens here); lib/environment.ts builds the variables,
    // for the local stack too.
    const resourceNames: ResourceNames = {
      tables: Object.fromEntries(
        tableList.map((def) => [def.name, this.tables.get(def.name as TableName).tableName]),
      ) as Record<TableName, string>,
      stream: stream.streamName,
      userPoolId: this.auth.userPool.userPoolId,
      // console (issue 18): tokens of either app client are accepted.
      userPoolClientId: Fn.join(',', [
        this.auth.client.userPoolClientId,
        this.console.client.userPoolClientId,
      ]),
      secrets: Object.fromEntries([...this.secrets.byName].map(([name, secret]) => [name, secret.secretArn])),
      buckets: Object.fromEntries(
        [...this.buckets.byName].map(([name, bucket]) => [name, bucket.bucketName]),
      ),
      analytics: {
        database: this.archive.databaseName,
        table: archiveDecl.table,
        workgroup: this.archive.workgroupName,
      },
      eventBusArns: this.eventBuses.grantArns,
    };
    this.resourceNames = resourceNames;

    // Every handler module the stack runs: routes, the catch-all, stream consumers, schedules.
    const modules = new Map<string, { memorySize: number; timeout: Duration }>();
    for (const handlerModule of handlerModules().keys()) modules.set(handlerModule, sizingFor(handlerModule));
    modules.set(fallbackRoute.handler, sizingFor(fallbackRoute.handler));
    for (const c of streamConsumers) modules.set(c.handler, CONSUMER_SIZING);
    // Reads one failed batch (up to a 6 MB invocation) per object written to the on-failure bucket.
    modules.set(failureIndexer.handler, HTTP_SIZING);
    // Archive: Firehose's transformation of each buffer (up to 1 MiB of records) — docs/archive.md.
    modules.set(archiveDecl.transform.handler, CONSUMER_SIZING);
    for (const s of schedules) {
      // One function has one timeout: a scheduled job sized like an HTTP handler would be cut short.
      if (modules.has(s.handler)) {
        throw new Error(
          `Schedule '${s.name}': handler module '${s.handler}' already serves routes or a stream`,
        );
      }
      modules.set(s.handler, SCHEDULE_SIZING);
    }
    // predictions: the workflow's steps, one function (docs/models.md)
    modules.set(modelWorkflow.handler, WORKFLOW_STEP_SIZING);

    const grantTargets: GrantTargets = {
      stream,
      tables: this.tables.byName,
      secrets: this.secrets.byName,
      buckets: this.buckets.byName,
      destinationSecretPrefix: destinationSecretPrefix(settings.stage),
      ...(encryptionKey ? { encryptionKey } : {}),
      analytics: this.archive.grantTargets,
      eventBusArns: this.eventBuses.grantArns,
    };

    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const functionsDir = props.functionsDir ?? join(projectRoot, 'functions');
    // Clean data at the edge: the country database reaches the functions as a layer, at /opt.
    const geoLayer = settings.geoDatabase
      ? new lambda.LayerVersion(this, 'GeoDatabase', {
          code: lambda.Code.fromAsset(dirname(settings.geoDatabase), {
            exclude: ['*', `!${basename(settings.geoDatabase)}`],
          }),
          description: 'Country database (MaxMind DB format) for ingest enrichment',
          removalPolicy,
        })
      : undefined;
    const functionSettings = {
      ...settings,
      geoDatabase: settings.geoDatabase ? `/opt/${basename(settings.geoDatabase)}` : undefined,
    };
    const functions = new Map<string, PulseFunction>();
    for (const [handlerModule, sizing] of modules) {
      // Fails synth for a module lib/access.ts does not declare.
      const decl = accessFor(handlerModule);
      const id = functionId(handlerModule);
      const fn = new PulseFunction(this, id, {
        handlerModule,
        functionsDir,
        projectRoot,
        environment: functionEnvironment(handlerModule, functionSettings, resourceNames),
        logGroup: this.observability.logGroup(this, `${id}LogGroup`),
        ...sizing,
      });
      fn.grant(decl, grantTargets);
      if (geoLayer && EDGE_MODULES.has(handlerModule)) fn.fn.addLayers(geoLayer);
      functions.set(handlerModule, fn);
    }
    this.functions = functions;
    const functionFor = (handlerModule: string): lambda.IFunction => {
      const fn = functions.get(handlerModule);
      if (!fn) throw new Error(`No function for handler module '${handlerModule}'`);
      return fn.fn;
    };

    this.archive.deliver(stream, functionFor(archiveDecl.transform.handler));
    const accessLogGroup = this.observability.logGroup(this, 'ApiAccessLogs');
    this.api = new PulseApi(this, 'Api', {
      functionFor,
      throttle: { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
      accessLogGroup,
      corsOrigins: settings.corsOrigins,
      // With the ALB door, the write-key routes are its own: one door per route (and the stack
      // stays under CloudFormation's 500 resources).
      ...(settings.frontDoor === 'alb' ? { routes: routes.filter((r) => !albRoutes.includes(r)) } : {}),
    });
    if (settings.frontDoor === 'alb') {
      this.ingestAlb = new IngestAlb(this, 'IngestAlb', {
        functionFor,
        certificateArn: settings.ingestCertificateArn as string,
      });
      new CfnOutput(this, 'IngestUrl', {
        value: this.ingestAlb.url,
        description:
          'Where SDKs send events (the ALB front door); point your DNS name for the certificate here',
      });
    }
    this.aggregation.connect({ stream, consumers: streamConsumers, functionFor });
    this.aggregation.indexFailures(functionFor(failureIndexer.handler));
    this.observability.watchFailureIndex(
      pascal(failureIndexer.name),
      functionFor(failureIndexer.handler),
      failureIndexer.handler,
      failureIndexer.unindexedMetric,
    );
    this.schedules = new Schedules(this, 'Schedules', { schedules, functionFor });
    // predictions: the workflow that trains, gates, publishes and scores models (docs/models.md)
    this.models = new ModelWorkflow(this, 'Models', {
      def: modelWorkflow,
      steps: functionFor(modelWorkflow.handler),
      logGroup: this.observability.logGroup(this, 'ModelsWorkflowLogs'),
    });
    this.observability.watchSchedule('ModelSteps', functionFor(modelWorkflow.handler));
    for (const s of schedules) this.observability.watchSchedule(pascal(s.name), functionFor(s.handler));

    for (const c of streamConsumers) {
      const source = this.aggregation.eventSources.get(c.name);
      if (!source) throw new Error(`No event source mapping for consumer '${c.name}'`);
      this.observability.watchConsumer({
        name: pascal(c.name),
        fn: functionFor(c.handler),
        handlerModule: c.handler,
        eventSourceMappingId: source.eventSourceMappingId,
      });
    }
    // Destinations (docs/destinations.md): dead messages, paused destinations, an outbox behind — per destination.
    this.observability.watchDestinations();
    this.observability.watchApi({
      metric5xx: this.api.metricServerError(),
      accessLogGroup,
      apiId: this.api.httpApi.apiId,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', {
      value: this.auth.client.userPoolClientId,
      description: 'Public client for initiate-auth (USER_PASSWORD_AUTH, SRP)',
    });
    new CfnOutput(this, 'StreamName', { value: stream.streamName });
    for (const def of tableList) {
      new CfnOutput(this, `${pascal(def.name)}TableName`, {
        value: this.tables.get(def.name as TableName).tableName,
      });
    }
    new CfnOutput(this, 'FailureBucketName', {
      value: this.aggregation.failureBucket.bucketName,
      description: 'Batches the stream consumers gave up on (expire after pulse:failureRetentionDays)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'SigningSecretArn', {
      value: this.secrets.get('signing').secretArn,
      description: 'The HMAC key (consent and link tokens, hashes of erased ids); never rotate it in place',
    });
  }
}
