/**
 * The environment every function gets, built in one place for both stacks: the CDK stack passes
 * its settings and the resources' names (CDK tokens), the local stack its settings and the
 * emulators' names. A variable added here reaches AWS and the laptop alike; the infra tests hold
 * every synthesized function to this builder's output. Plain data, no aws-cdk-lib.
 */

import { accessFor, SECRETS, type SecretName } from './access';
import { type BucketName, buckets } from './buckets';
import { DEFAULTS, ENV, METRICS_NAMESPACE } from './config';
import { eventStream } from './stream';
import { type TableName, tableList } from './tables';

/** The deployment settings functions read (lib/config.ts ENV); defaults in lib/config.ts DEFAULTS. */
export interface FunctionSettings {
  readonly stage: string;
  readonly consentMode: 'required' | 'off';
  readonly consentTtlDays: number;
  readonly piiMode: 'reject' | 'hash' | 'off';
  readonly retentionDays: number;
  readonly eventHorizonDays: number;
  /** Days a failed batch stays in the on-failure bucket (the failure index expires with it). */
  readonly failureRetentionDays: number;
  /** Browser origins allowed by CORS (the fallback answers their preflights). */
  readonly corsOrigins: readonly string[];
  /** Whether a client key needs a user hash to act for a user id. */
  readonly identityVerification: 'required' | 'off';
  // Clean data at the edge (docs/data-quality.md); optional: absent means the default.
  readonly botMode?: 'flag' | 'drop';
  readonly botMaxEventsPerMinute?: number;
  readonly countryMode?: 'off' | 'cloudfront' | 'mmdb';
  /** Where the function finds the country database (`/opt/…` from a layer in AWS). */
  readonly geoDatabase?: string;
  /** JSON of the UTM mapping (functions/core/edge/campaign-attribution.ts). */
  readonly utmMapping?: string;
}

/** Where the stack's resources are, by the names the SDK calls take. */
export interface ResourceNames {
  readonly tables: Readonly<Record<TableName, string>>;
  readonly stream: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  /**
   * Secret ARNs. The local stack has none: it hands the key itself to every function
   * (ENV.localSigningKey), as it hands over a folder in place of the failure bucket.
   */
  readonly secrets?: Readonly<Partial<Record<SecretName, string>>>;
  /** Bucket names (lib/buckets.ts). The local stack has none: it hands over folders instead. */
  readonly buckets?: Readonly<Partial<Record<BucketName, string>>>;
  /** The archive's Glue database and table and its Athena workgroup (docs/archive.md); none locally. */
  readonly analytics?: { readonly database: string; readonly table: string; readonly workgroup: string };
  /** eventbridge destinations: the ARNs of the buses PutEvents is granted on (lib/event-buses.ts). */
  readonly eventBusArns?: readonly string[];
}

/** What every function gets, whatever its handler module: settings, tables, stream, user pool. */
export const sharedEnvironment = (
  settings: FunctionSettings,
  names: ResourceNames,
): Record<string, string> => ({
  ...Object.fromEntries(tableList.map((t) => [t.envVar, names.tables[t.name as TableName]])),
  [eventStream.envVar]: names.stream,
  [ENV.stage]: settings.stage,
  [ENV.consentMode]: settings.consentMode,
  [ENV.consentTtlDays]: String(settings.consentTtlDays),
  [ENV.piiMode]: settings.piiMode,
  [ENV.retentionDays]: String(settings.retentionDays),
  [ENV.eventHorizonDays]: String(settings.eventHorizonDays),
  [ENV.failureRetentionDays]: String(settings.failureRetentionDays),
  [ENV.identityVerification]: settings.identityVerification,
  ...(settings.corsOrigins.length > 0 ? { [ENV.corsOrigins]: settings.corsOrigins.join(',') } : {}),
  // Clean data at the edge.
  [ENV.botMode]: settings.botMode ?? DEFAULTS.botMode,
  [ENV.botMaxEventsPerMinute]: String(settings.botMaxEventsPerMinute ?? DEFAULTS.botMaxEventsPerMinute),
  [ENV.countryMode]: settings.countryMode ?? DEFAULTS.countryMode,
  ...(settings.geoDatabase ? { [ENV.geoDatabase]: settings.geoDatabase } : {}),
  ...(settings.utmMapping ? { [ENV.utmMapping]: settings.utmMapping } : {}),
  [ENV.userPoolId]: names.userPoolId,
  [ENV.userPoolClientId]: names.userPoolClientId,
  [ENV.metricsNamespace]: METRICS_NAMESPACE,
  // eventbridge destinations: the admin routes refuse a bus outside the grant.
  ...(names.eventBusArns?.length ? { [ENV.eventBusArns]: names.eventBusArns.join(',') } : {}),
});

/**
 * What one handler module's function gets on top: its service name (the `service` of its logs and
 * metrics) and where to find the secrets and the buckets its lib/access.ts declaration lets it use.
 */
export const moduleEnvironment = (handlerModule: string, names: ResourceNames): Record<string, string> => {
  const decl = accessFor(handlerModule);
  const env: Record<string, string> = { [ENV.serviceName]: handlerModule };
  for (const name of decl.secrets ?? []) {
    const arn = names.secrets?.[name];
    if (arn) env[SECRETS[name].envVar] = arn;
  }
  for (const name of Object.keys(decl.buckets ?? {}) as BucketName[]) {
    const bucket = names.buckets?.[name];
    if (bucket) env[buckets[name].envVar] = bucket;
  }
  // Archive: where a module that queries it finds the table and the workgroup.
  if (decl.analytics && names.analytics) {
    env[ENV.archiveDatabase] = names.analytics.database;
    env[ENV.archiveTable] = names.analytics.table;
    env[ENV.athenaWorkgroup] = names.analytics.workgroup;
  }
  return env;
};

/** The whole environment of one handler module's function. */
export const functionEnvironment = (
  handlerModule: string,
  settings: FunctionSettings,
  names: ResourceNames,
): Record<string, string> => ({
  ...sharedEnvironment(settings, names),
  ...moduleEnvironment(handlerModule, names),
});
