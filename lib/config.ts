/**
 * Environment contract between the stack (CDK or local) and the functions: the variable names
 * every function may read, set once here. Plain data, no aws-cdk-lib.
 */

export const ENV = {
  stage: 'PULSE_STAGE',
  /** `required` (the default), `off`. */
  consentMode: 'PULSE_CONSENT_MODE',
  /** Oldest accepted event, in days before receipt (mobile SDKs queue offline). */
  eventHorizonDays: 'PULSE_EVENT_HORIZON_DAYS',
  userPoolId: 'COGNITO_USER_POOL_ID',
  userPoolClientId: 'COGNITO_CLIENT_ID',
  /** Local stack only: JWKS (JSON) the JWT verifier trusts instead of fetching Cognito's. */
  localJwks: 'PULSE_LOCAL_JWKS',
  /** Local stack only: folder standing in for the S3 on-failure destination. */
  localFailureDir: 'PULSE_LOCAL_FAILURE_DIR',
  /** Secrets Manager secret (ARN) holding the HMAC key for consent tokens, link tokens, id hashes. */
  signingSecretArn: 'PULSE_SIGNING_SECRET_ARN',
  /** Local stack only: the HMAC key itself (base64url), in place of the secret. */
  localSigningKey: 'PULSE_LOCAL_SIGNING_KEY',
  /**
   * `required`: a client (`pk_`) key acts for a user id (consent, identify, promotion) only with
   * that id's user hash; `off`: any key may name any id (docs/identity-verification.md).
   */
  identityVerification: 'PULSE_IDENTITY_VERIFICATION',
  /** Days a consent token stays valid after it is issued. */
  consentTtlDays: 'PULSE_CONSENT_TTL_DAYS',
  /** What ingest does with properties that look like e-mail, phone or card numbers: reject | hash | off. */
  piiMode: 'PULSE_PII_MODE',
  /** Days personal records live after a person's last activity (TTL). */
  retentionDays: 'PULSE_RETENTION_DAYS',
  /** S3 bucket of the consumer's on-failure destination (erasure and export search it). */
  failureBucket: 'PULSE_FAILURE_BUCKET',
  /** S3 buckets of lib/buckets.ts: the raw archive, export jobs' files, uploaded imports. */
  archiveBucket: 'PULSE_ARCHIVE_BUCKET',
  exportsBucket: 'PULSE_EXPORTS_BUCKET',
  importsBucket: 'PULSE_IMPORTS_BUCKET',
  /** Local stack only: the folders standing in for those buckets. */
  localArchiveDir: 'PULSE_LOCAL_ARCHIVE_DIR',
  localExportsDir: 'PULSE_LOCAL_EXPORTS_DIR',
  localImportsDir: 'PULSE_LOCAL_IMPORTS_DIR',
  /** Local stack only: base URL of the object server that answers the folders' presigned URLs. */
  localObjectsUrl: 'PULSE_LOCAL_OBJECTS_URL',
  /**
   * Browser origins allowed by CORS (pulse:corsOrigins), comma-separated; `*` for any. The `$default`
   * function answers preflights from it (lib/cors.ts). Unset: no CORS headers.
   */
  corsOrigins: 'PULSE_CORS_ORIGINS',
  /** Days a failed batch stays in the on-failure bucket (pulse:failureRetentionDays): its index expires with it. */
  failureRetentionDays: 'PULSE_FAILURE_RETENTION_DAYS',
  /** How long functions cache experiment definitions, in ms (tests set 0). */
  experimentCacheMs: 'PULSE_EXPERIMENT_CACHE_MS',
  // Archive (docs/archive.md): the Glue table Athena queries and the workgroup it runs in. Locally,
  // DuckDB queries the archive bucket's folder (localArchiveDir) in place of Athena.
  archiveDatabase: 'PULSE_ARCHIVE_DATABASE',
  archiveTable: 'PULSE_ARCHIVE_TABLE',
  athenaWorkgroup: 'PULSE_ATHENA_WORKGROUP',
  /** Local stack only (predictions, docs/models.md): `POST /api/models/{name}/train` runs the steps in process. */
  modelsInProcess: 'PULSE_MODELS_IN_PROCESS',
  // Clean data at the edge (docs/data-quality.md): bots, country, UTM mapping.
  /** pulse:botMode: `flag` (keep a bot's events, leave them out of metrics) or `drop` (never stored). */
  botMode: 'PULSE_BOT_MODE',
  /** pulse:botMaxEventsPerMinute: events per id per minute beyond which the consumer flags it a bot; 0: off. */
  botMaxEventsPerMinute: 'PULSE_BOT_MAX_EVENTS_PER_MINUTE',
  /** pulse:countryMode: `off`, `cloudfront` (trust CloudFront-Viewer-Country) or `mmdb` (a GeoLite2 database). */
  countryMode: 'PULSE_COUNTRY_MODE',
  /** Path of the GeoLite2/GeoIP2 Country database the function reads in `mmdb` mode. */
  geoDatabase: 'PULSE_GEO_DATABASE',
  /** pulse:utmMapping: JSON overriding which UTM parameters set which attribution field. */
  utmMapping: 'PULSE_UTM_MAPPING',
  /** How long ingest functions cache the tracking plans, in ms (tests set 0). */
  planCacheMs: 'PULSE_PLAN_CACHE_MS',
  // ---- traits: CRM connectors (docs/traits.md) ----
  /** Secrets Manager secret (ARN) holding CRM connectors' tokens, JSON by connector id. */
  crmSecretArn: 'PULSE_CRM_SECRET_ARN',
  /** Local stack only: the JSON file (in the data folder) standing in for that secret. */
  localCrmSecretFile: 'PULSE_LOCAL_CRM_SECRET_FILE',
  /** HubSpot's API base URL (tests point it at a fake HubSpot). Default https://api.hubapi.com. */
  hubspotApiUrl: 'PULSE_HUBSPOT_API_URL',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Local stack only: folder standing in for Secrets Manager for destination credentials. */
  localSecretsDir: 'PULSE_LOCAL_SECRETS_DIR',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  // eventbridge destinations (docs/destinations.md)
  /** Local stack only: buses besides pulse-engagement-local destinations may put events on (pulse:eventBuses). */
  localEventBuses: 'PULSE_EVENT_BUSES',
  /** The buses (ARNs, comma-separated) the stack grants PutEvents on: a destination naming another is refused. */
  eventBusArns: 'PULSE_EVENT_BUS_ARNS',
} as const;

export const METRICS_NAMESPACE = 'Pulse';

export const DEFAULTS = {
  stage: 'dev',
  consentMode: 'required',
  identityVerification: 'required',
  eventHorizonDays: 30,
  consentTtlDays: 180,
  piiMode: 'reject',
  retentionDays: 395,
  failureRetentionDays: 30,
  // Clean data at the edge (docs/data-quality.md).
  botMode: 'flag',
  /** Two events a second, sustained for a minute, from one id: no person taps that fast. */
  botMaxEventsPerMinute: 120,
  countryMode: 'off',
  region: 'us-east-1',
  /** Local Cognito-shaped pool id: the same verifier runs locally with a local JWKS. */
  localUserPoolId: 'us-east-1_PulseLocal',
  localUserPoolClientId: 'pulse-local-client',
} as const;

/** Cognito groups that carry a role. */
export const ROLE_GROUPS = { analyst: 'analyst', admin: 'admin' } as const;
