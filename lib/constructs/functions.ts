import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  ANALYTICS_ACTIONS,
  BUCKET_ACTIONS,
  type BucketAccess,
  DESTINATION_SECRET_ACTIONS,
  type ModuleAccess,
  SECRET_ACTIONS,
  SECRET_KMS_ACTIONS,
  type SecretName,
  STREAM_ACTIONS,
  STREAM_KMS_ACTIONS,
  TABLE_ACCESS_USES_INDEXES,
  TABLE_ACTIONS,
  TABLE_KMS_ACTIONS,
  type TableAccess,
} from '../access';
import type { BucketName } from '../buckets';
import { bundledFiles, bundling } from '../bundling';
import { EVENT_BUS_ACTIONS } from '../event-buses';
import { type TableName, tables as tableDefs } from '../tables';
import { pascal } from './tables';

/** ESM bundles still meet CommonJS dependencies that call require(); give them one. */
export const ESM_REQUIRE_BANNER = bundling.banner;

/** `ingest/engagement` -> `IngestEngagement`: the function's construct id. */
export const functionId = (handlerModule: string): string => pascal(handlerModule);

export interface PulseFunctionProps {
  /** Handler module relative to `functionsDir`, without extension; exports `handler`. */
  readonly handlerModule: string;
  /** Folder holding the handler modules (the repository's `functions/`). */
  readonly functionsDir: string;
  /** Repository root: esbuild runs here and resolves node_modules from it. */
  readonly projectRoot: string;
  /** lib/environment.ts functionEnvironment: the service name and what lib/access.ts implies included. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroup: logs.ILogGroup;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly description?: string;
}

let esbuildChecked = false;
/** NodejsFunction silently falls back to Docker when esbuild is missing; we never bundle in Docker. */
const assertLocalEsbuild = (): void => {
  if (esbuildChecked) return;
  try {
    createRequire(import.meta.url).resolve('esbuild/package.json');
    esbuildChecked = true;
  } catch {
    throw new Error(
      'esbuild is not installed: Pulse bundles functions with local esbuild only (run npm ci).',
    );
  }
};

/** Copies the files a module reads at run time (lib/bundling.ts `bundledFiles`) beside its bundle. */
const filesBeside = (handlerModule: string): { commandHooks?: nodejs.ICommandHooks } => {
  const files = bundledFiles[handlerModule];
  if (!files?.length) return {};
  return {
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) =>
        files.map((f) => `cp "${join(inputDir, f)}" "${join(outputDir, f.split('/').pop() as string)}"`),
    },
  };
};

/**
 * The project's Lambda function: one per handler module, with the shared defaults (Node 24 on
 * arm64, ESM bundle with the AWS SDK inside, source maps, its own log group and its own role that
 * may only write to that log group until `grant` adds what lib/access.ts declares).
 */
export class PulseFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly handlerModule: string;

  constructor(scope: Construct, id: string, props: PulseFunctionProps) {
    super(scope, id);
    this.handlerModule = props.handlerModule;
    const entry = join(props.functionsDir, `${props.handlerModule}.ts`);
    if (!existsSync(entry)) {
      throw new Error(`Handler module '${props.handlerModule}' has no entry file at ${entry}`);
    }
    assertLocalEsbuild();

    // Our own role instead of the AWSLambdaBasicExecutionRole managed policy: logs go to this
    // function's log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Pulse function ${props.handlerModule}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [props.logGroup.logGroupArn],
      }),
    );

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: props.logGroup,
      description: props.description ?? `Pulse ${props.handlerModule}`,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        minify: bundling.minify,
        sourceMap: bundling.sourcemap,
        // Stack traces need the mappings, not a second copy of the sources in the zip.
        sourcesContent: false,
        format: nodejs.OutputFormat.ESM,
        // Shared with the bench (lib/bundling.ts), so it measures what ships.
        target: bundling.target,
        mainFields: [...bundling.mainFields],
        banner: bundling.banner,
        // Bundle the SDK (the runtime's own copy is not the version we pinned and tested).
        externalModules: [],
        // Only warnings and errors: the per-asset size report drowns synth output.
        logLevel: nodejs.LogLevel.WARNING,
        ...filesBeside(props.handlerModule),
      },
    });
  }

  /** Grants exactly what a lib/access.ts declaration names: these actions, on these resources. */
  grant(decl: ModuleAccess, targets: GrantTargets): void {
    const kmsActions = new Set<string>();
    const allow = (actions: readonly string[], resources: string[]) =>
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources }));

    if (decl.stream) {
      allow(STREAM_ACTIONS[decl.stream], [targets.stream.streamArn]);
      for (const a of STREAM_KMS_ACTIONS[decl.stream]) kmsActions.add(a);
    }
    for (const [name, level] of Object.entries(decl.tables ?? {}) as [TableName, TableAccess | undefined][]) {
      const table = targets.tables.get(name);
      if (!table || !level) {
        throw new Error(`lib/access.ts: '${this.handlerModule}' names unknown table '${name}'`);
      }
      const resources = [table.tableArn];
      if (TABLE_ACCESS_USES_INDEXES[level] && tableDefs[name].indexes.length > 0) {
        // Each declared index by name: no wildcard for cdk-nag (IAM5) or for reviewers to reason about.
        for (const index of tableDefs[name].indexes) resources.push(`${table.tableArn}/index/${index.name}`);
      }
      allow(TABLE_ACTIONS[level], resources);
      for (const a of TABLE_KMS_ACTIONS[level]) kmsActions.add(a);
    }
    for (const name of decl.secrets ?? []) {
      const secret = targets.secrets.get(name);
      if (!secret) throw new Error(`lib/access.ts: '${this.handlerModule}' names unknown secret '${name}'`);
      // Not secret.grantRead: that adds DescribeSecret, and a KMS grant with conditions of its own.
      allow(SECRET_ACTIONS, [secret.secretArn]);
      if (secret.encryptionKey) for (const a of SECRET_KMS_ACTIONS) kmsActions.add(a);
    }
    for (const [name, level] of Object.entries(decl.buckets ?? {}) as [
      BucketName,
      BucketAccess | undefined,
    ][]) {
      const bucket = targets.buckets.get(name);
      if (!bucket || !level) {
        throw new Error(`lib/access.ts: '${this.handlerModule}' names unknown bucket '${name}'`);
      }
      const actions = BUCKET_ACTIONS[level];
      if (actions.bucket.length > 0) allow(actions.bucket, [bucket.bucketArn]);
      allow(actions.objects, [bucket.arnForObjects('*')]);
      acknowledgeObjectWildcard(
        this.role,
        bucket,
        `Objects of the ${name} bucket have keys chosen at run time (by Lambda, by a job, by a date), so ` +
          `the declared object actions (lib/access.ts: ${actions.objects.join(', ')}) cover the keys of ` +
          'this one bucket, and nothing else.',
      );
    }
    // Archive (docs/archive.md): the workgroup, and the catalog, database and table it reads.
    if (decl.analytics) {
      if (!targets.analytics)
        throw new Error(`lib/access.ts: '${this.handlerModule}' queries the archive, which has no catalog`);
      allow(ANALYTICS_ACTIONS.workgroup, [targets.analytics.workgroupArn]);
      allow(ANALYTICS_ACTIONS.catalog, [...targets.analytics.catalogArns]);
    }
    if (decl.destinationSecrets) {
      // Destinations (docs/destinations.md): secrets created at run time, one per destination,
      // under the stage's prefix; Secrets Manager appends 6 random characters to each ARN.
      const stack = Stack.of(this);
      const arn = `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${targets.destinationSecretPrefix}*`;
      allow(DESTINATION_SECRET_ACTIONS[decl.destinationSecrets], [arn]);
      Validations.of(this.role).acknowledge({
        // cdk-nag names the resource with the pseudo parameters as placeholders.
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${targets.destinationSecretPrefix}*]`,
        reason:
          'Destination credentials are one secret per destination, created by the admin routes at run ' +
          'time: their names are known only by prefix (pulse/<stage>/destinations/), and the statement ' +
          'allows only the declared secret actions under it.',
      });
    }
    // eventbridge destinations: PutEvents on the stack's bus and pulse:eventBuses, by ARN.
    if (decl.eventBuses) {
      if (!targets.eventBusArns?.length)
        throw new Error(`lib/access.ts: '${this.handlerModule}' puts events, and the stack has no bus`);
      allow(EVENT_BUS_ACTIONS, [...targets.eventBusArns]);
    }
    if (targets.encryptionKey && kmsActions.size > 0) {
      allow([...kmsActions].sort(), [targets.encryptionKey.keyArn]);
    }
  }
}

export interface GrantTargets {
  readonly stream: kinesis.IStream;
  readonly tables: ReadonlyMap<TableName, dynamodb.ITable>;
  readonly secrets: ReadonlyMap<SecretName, secretsmanager.ISecret>;
  /** The buckets of lib/buckets.ts (SSE-S3: no KMS grant). */
  readonly buckets: ReadonlyMap<BucketName, s3.IBucket>;
  /** Name prefix of destination credential secrets (lib/access.ts destinationSecretPrefix). */
  readonly destinationSecretPrefix: string;
  readonly encryptionKey?: kms.IKey;
  /** The archive's Athena workgroup and Glue catalog, database and table (lib/constructs/archive.ts). */
  readonly analytics?: { readonly workgroupArn: string; readonly catalogArns: readonly string[] };
  /** eventbridge destinations: the buses PutEvents may reach (lib/constructs/event-buses.ts). */
  readonly eventBusArns?: readonly string[];
}

/** cdk-nag's IAM5 for `<bucket>/*`, acknowledged on one role for one bucket with the reason. */
export const acknowledgeObjectWildcard = (role: iam.IRole, bucket: s3.IBucket, reason: string): void => {
  if (!(bucket.node.defaultChild instanceof CfnResource)) return;
  const bucketId = Stack.of(bucket).resolve(bucket.node.defaultChild.logicalId);
  Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, reason });
};
