/**
 * Table definitions: keys, indexes and TTL attribute of every DynamoDB table. The CDK stack,
 * the local stack and the repositories read them from here. Plain data, no aws-cdk-lib.
 *
 * Every table uses string keys `pk` (+ `sk`), so repositories share one key design and
 * Kinesis sequence numbers or composite keys never meet a Number attribute.
 */

export interface IndexDef {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export interface TableDef {
  /** Logical name: construct id in CDK (unless `constructId` is set), suffix of the local table name. */
  readonly name: string;
  /**
   * CDK construct id when it differs from `name`: a table keeps the id it was first deployed
   * under, because a new logical id makes CloudFormation replace the table, data and all
   * (docs/migrations.md).
   */
  readonly constructId?: string;
  /** Environment variable through which functions learn the physical table name. */
  readonly envVar: string;
  readonly partitionKey: 'pk';
  readonly sortKey?: 'sk';
  /** Epoch-seconds attribute DynamoDB TTL deletes by; readers still filter expired items. */
  readonly ttlAttribute?: string;
  readonly indexes: readonly IndexDef[];
  /** Holds data about a person (erasure and export must cover it). */
  readonly personalData: boolean;
  readonly description: string;
}

export const TTL_ATTRIBUTE = 'expiresAt';

export const tables = {
  users: {
    name: 'users',
    envVar: 'USERS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: true,
    description: 'Per-person profiles and stats, identity links, dedup state',
  },
  tags: {
    name: 'tags',
    envVar: 'TAGS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    // Sparse: only items carrying `nextCheck` (a person whose rule outcome may change with time
    // alone) appear, so the sweep finds what is due without scanning.
    indexes: [{ name: 'byNextCheck', partitionKey: 'checkShard', sortKey: 'nextCheck' }],
    personalData: true,
    description: 'Tags per person and segment memberships; segment rules',
  },
  experiments: {
    name: 'experiments',
    envVar: 'EXPERIMENTS_TABLE',
    // Deployed as `variants` before the rename: the same logical id keeps the deployed table.
    constructId: 'Variants',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: true,
    description: 'Experiment definitions, assignments and exposures',
  },
  consent: {
    name: 'consent',
    envVar: 'CONSENT_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: true,
    description: 'Consent state and its append-only history; erasure suppression markers',
  },
  metrics: {
    name: 'metrics',
    envVar: 'METRICS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: false,
    description: 'Campaign counters (write-sharded), unique-user sketches, shard checkpoints',
  },
  quarantine: {
    name: 'quarantine',
    envVar: 'QUARANTINE_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: true,
    description: 'Records the consumer could not process, with payload and reason (expiring)',
  },
  sources: {
    name: 'sources',
    envVar: 'SOURCES_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [],
    personalData: false,
    description: 'Sources and the SHA-256 hashes of their write keys',
  },
  limits: {
    name: 'limits',
    envVar: 'LIMITS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: false,
    description: 'Per-source rate-limit windows (expiring counters)',
  },
  // Destinations (docs/destinations.md): definitions, status and alerts; the outbox of messages.
  destinations: {
    name: 'destinations',
    envVar: 'DESTINATIONS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: false,
    description: 'Destination definitions, delivery status and circuit state; campaign alerts; replay jobs',
  },
  outbox: {
    name: 'outbox',
    envVar: 'OUTBOX_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    // Sparse: only messages waiting for an attempt carry `dueKey` (destination and shard) and
    // `dueAt`, so the redrive finds what is due without scanning.
    indexes: [{ name: 'byDue', partitionKey: 'dueKey', sortKey: 'dueAt' }],
    personalData: true,
    description: 'Messages for destinations: waiting, retrying, delivered (idempotency memory) or dead',
  },
  // predictions (docs/models.md): model definitions, versions, and the anonymous rows of a run
  models: {
    name: 'models',
    envVar: 'MODELS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    // Scores live on the person item (users); a run's feature rows carry no id and expire in 2 days.
    personalData: false,
    description: 'Model definitions, trained versions with their metrics, and the feature rows of a run',
  },
  // Clean data at the edge: tracking plans and their violation counts (docs/data-quality.md).
  quality: {
    name: 'quality',
    envVar: 'QUALITY_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: false,
    description: 'Tracking plans of custom events, and daily violation counts with examples (no values)',
  },
  // Declared traits, CRM connectors and bulk imports (docs/traits.md).
  traits: {
    name: 'traits',
    envVar: 'TRAITS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
    personalData: false,
    description: 'Trait declarations, CRM connectors and their cursors, bulk import jobs (no values)',
  },
} as const satisfies Record<string, TableDef>;

export type TableName = keyof typeof tables;

export const tableList: readonly TableDef[] = Object.values(tables);
