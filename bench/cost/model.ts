/**
 * The monthly cost of Pulse for a traffic profile: pure arithmetic over the measured inputs
 * (bench/cost/inputs.ts, written by `npm run bench`) and the prices file (bench/cost/prices.json).
 * Ingestion (request to stream) and aggregation (stream to read models) are kept apart, so the
 * ingestion total compares like for like with Clickstream's ingestion module.
 *
 * Free tiers are not subtracted (they are per account, and small against these volumes).
 */
import { eventStream } from '../../lib/stream';
import type { ConsumerBatchFigures, CostInputs } from './inputs';

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1024 ** 3;

export type PriceKey =
  | 'apiGatewayHttpPerMillionFirst300M'
  | 'apiGatewayHttpPerMillionBeyond300M'
  | 'lambdaPerMillionRequests'
  | 'lambdaArmPerGbSecond'
  | 'lambdaFunctionUrlPerMillionRequests'
  | 'kinesisOnDemandPerStreamHour'
  | 'kinesisOnDemandPerGbIn'
  | 'kinesisOnDemandPerGbOut'
  | 'kinesisOnDemandExtendedRetentionPerGbMonth'
  | 'kinesisProvisionedPerShardHour'
  | 'kinesisProvisionedPerMillionPutUnits'
  | 'kinesisProvisionedExtendedRetentionPerShardHour'
  | 'dynamoOnDemandPerMillionWrites'
  | 'dynamoOnDemandPerMillionReads'
  | 'dynamoProvisionedPerWcuHour'
  | 'dynamoProvisionedPerRcuHour'
  | 'dynamoStoragePerGbMonth'
  | 'logsIngestionPerGb'
  | 'logsStoragePerGbMonth'
  | 'customMetricPerMonth'
  | 's3StandardPerGbMonth'
  | 's3PutPerThousand'
  | 'secretPerMonth'
  | 'secretsPer10kApiCalls'
  | 'cognitoPlusPerMau'
  | 'albPerHour'
  | 'albPerLcuHour';

export interface Price {
  usd: number;
  unit: string;
  source: string;
  awsPage: string;
  verified: boolean;
  note?: string;
}

export interface PricesFile {
  region: string;
  readOn: string;
  prices: Record<PriceKey, Price>;
  clickstream: {
    source: string;
    ingestion: { requestsPerSecond: number; provisionedKinesis: number; onDemandKinesis: number }[];
    dataProcessing: { requestsPerSecond: number; daily: number; hourly: number }[];
  };
}

export interface TrafficProfile {
  requestsPerSecond: number;
  eventsPerRequest: number;
  /** Distinct persons seen in a month: their person items are the read models' bulk. */
  activePeople: number;
  campaigns: number;
  /** Analysts and admins signing in (Cognito monthly active users). */
  analysts: number;
}

export type FrontDoor = 'http-api' | 'function-url' | 'alb';
/** The front doors the stack can deploy (pulse:frontDoor): the recommendation chooses among these. */
export const BUILT_FRONT_DOORS: readonly FrontDoor[] = ['http-api', 'alb'];
export type KinesisMode = 'on-demand' | 'provisioned';
export type CapacityMode = 'on-demand' | 'provisioned';

export interface Deployment {
  frontDoor: FrontDoor;
  kinesisMode: KinesisMode;
  /** The read-model tables: on-demand (as deployed), or provisioned with auto scaling for steady load. */
  dynamoMode: CapacityMode;
  /** Event source mapping: records per invocation at most, and how long it waits to fill one. */
  batchSize: number;
  batchingWindowSeconds: number;
  ingestMemoryMb: number;
  consumerMemoryMb: number;
  streamRetentionHours: number;
  logRetentionDays: number;
  /** Days counters and person items live (TTL): the storage they hold. */
  readModelRetentionDays: number;
  /** Wall time measured here to Lambda's: 1 keeps the measurement as it is. */
  durationFactor: number;
  /** New TCP connections per request at an ALB (clients reuse connections). */
  albNewConnectionsPerRequest: number;
  /**
   * Lambda's own START/END/REPORT lines: written in the default text log format; the JSON log
   * format with a system log level of WARN leaves them out.
   */
  platformLogs: boolean;
}

/** As lib/pulse-stack.ts, lib/stream.ts and the stack's defaults deploy Pulse today. */
export const DEPLOYED: Deployment = {
  frontDoor: 'http-api',
  kinesisMode: 'on-demand',
  dynamoMode: 'on-demand',
  batchSize: 500,
  batchingWindowSeconds: 1,
  ingestMemoryMb: 512,
  consumerMemoryMb: 1024,
  // As lib/stream.ts keeps it (24 h: the stream is a buffer, not a store of record).
  streamRetentionHours: eventStream.retentionHours,
  logRetentionDays: 30,
  readModelRetentionDays: 395,
  durationFactor: 1,
  albNewConnectionsPerRequest: 0.1,
  platformLogs: true,
};

export const PRESETS: TrafficProfile[] = [10, 100, 1000, 10_000].map((rps) => ({
  requestsPerSecond: rps,
  eventsPerRequest: 10,
  activePeople: Math.min(10_000_000, rps * 1000),
  campaigns: 20,
  analysts: 20,
}));

export type Stage = 'ingestion' | 'aggregation' | 'shared';
export interface Line {
  stage: Stage;
  component: string;
  usd: number;
  basis: string;
}

export interface Estimate {
  profile: TrafficProfile;
  deployment: Deployment;
  lines: Line[];
  totals: Record<Stage, number> & { all: number };
  shards: number;
  eventsPerBatch: number;
}

/**
 * Lambda's duration from a measurement here: the handler's CPU time stretched to the share of a
 * vCPU its memory buys ("at 1,769 MB, a function has the equivalent of one vCPU", Lambda developer
 * guide, configuration-memory), plus the time it waited on DynamoDB and Kinesis, unscaled.
 */
export const VCPU_MEMORY_MB = 1769;
export const SHARD_UTILISATION = 0.8;
export const lambdaMs = (wallMs: number, cpuMs: number, memoryMb: number): number =>
  cpuMs * Math.max(1, VCPU_MEMORY_MB / memoryMb) + Math.max(0, wallMs - cpuMs);

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Linear between the measured batch sizes, extended along the nearest segment outside them. */
export const interpolate = (
  points: readonly ConsumerBatchFigures[],
  batchSize: number,
  pick: (p: ConsumerBatchFigures) => number,
): number => {
  const sorted = [...points].sort((a, b) => a.batchSize - b.batchSize);
  if (sorted.length === 1) return pick(sorted[0] as ConsumerBatchFigures);
  let i = sorted.findIndex((p) => p.batchSize >= batchSize);
  if (i <= 0) i = i === 0 ? 1 : sorted.length - 1;
  const a = sorted[i - 1] as ConsumerBatchFigures;
  const b = sorted[i] as ConsumerBatchFigures;
  const t = (batchSize - a.batchSize) / (b.batchSize - a.batchSize);
  return Math.max(0, pick(a) + t * (pick(b) - pick(a)));
};

export const estimate = (
  profile: TrafficProfile,
  inputs: CostInputs,
  prices: PricesFile,
  deployment: Deployment = DEPLOYED,
): Estimate => {
  const p = (k: PriceKey) => prices.prices[k].usd;
  const lines: Line[] = [];
  const add = (stage: Stage, component: string, usd: number, basis: string) =>
    lines.push({ stage, component, usd, basis });

  const requests = profile.requestsPerSecond * SECONDS_PER_MONTH;
  /** Provisioned capacity for a month's units, with auto scaling at a 70 % utilisation target (steady load). */
  const provisioned = (writeUnits: number, readUnits: number) =>
    HOURS_PER_MONTH *
    ((writeUnits / SECONDS_PER_MONTH / 0.7) * p('dynamoProvisionedPerWcuHour') +
      (readUnits / SECONDS_PER_MONTH / 0.7) * p('dynamoProvisionedPerRcuHour'));
  const recordsPerSecond = profile.requestsPerSecond * profile.eventsPerRequest;
  const records = recordsPerSecond * SECONDS_PER_MONTH;
  const recordBytes = inputs.streamRecordBytes;

  // ---- ingestion: front door, ingest function, stream -----------------------------------------
  const millions = requests / 1e6;
  if (deployment.frontDoor === 'http-api') {
    const first = Math.min(millions, 300);
    add(
      'ingestion',
      'API Gateway HTTP API',
      first * p('apiGatewayHttpPerMillionFirst300M') +
        (millions - first) * p('apiGatewayHttpPerMillionBeyond300M'),
      `${fmt(millions)} M requests`,
    );
  } else if (deployment.frontDoor === 'function-url') {
    add(
      'ingestion',
      'Lambda function URL',
      millions * p('lambdaFunctionUrlPerMillionRequests'),
      'no charge of its own',
    );
  } else {
    const processedGbPerHour =
      (profile.requestsPerSecond * 3600 * (profile.eventsPerRequest * recordBytes + 1024)) / GB;
    const lcu = Math.max(
      (profile.requestsPerSecond * deployment.albNewConnectionsPerRequest) / 25,
      processedGbPerHour / 0.4,
      1 / 1000,
    );
    add(
      'ingestion',
      'Application Load Balancer',
      HOURS_PER_MONTH * (p('albPerHour') + lcu * p('albPerLcuHour')),
      `${fmt(lcu, 1)} LCU`,
    );
  }
  // Per request, linear in events between the 1-event and 500-event measurements.
  const between = (one: number, full: number) => one + ((full - one) * (profile.eventsPerRequest - 1)) / 499;
  const ingestMs =
    deployment.durationFactor *
    lambdaMs(
      between(inputs.ingestMsPerRequest1, inputs.ingestMsPerRequest500),
      between(inputs.ingestCpuMsPerRequest1, inputs.ingestCpuMsPerRequest500),
      deployment.ingestMemoryMb,
    );
  add(
    'ingestion',
    'Lambda ingest: requests',
    millions * p('lambdaPerMillionRequests'),
    `${fmt(millions)} M invocations`,
  );
  const ingestGbSeconds = (requests * Math.ceil(ingestMs) * deployment.ingestMemoryMb) / 1024 / 1000;
  add(
    'ingestion',
    'Lambda ingest: GB-seconds',
    ingestGbSeconds * p('lambdaArmPerGbSecond'),
    `${fmt(ingestMs, 1)} ms x ${deployment.ingestMemoryMb} MB`,
  );
  const ingestLogBytesPerRequest = between(
    inputs.ingestLogBytesPerRequest1,
    inputs.ingestLogBytesPerRequest500,
  );
  const accessLogBytes = deployment.frontDoor === 'http-api' ? inputs.accessLogBytesPerRequest : 0;
  const platformLogBytes = deployment.platformLogs ? inputs.platformLogBytesPerInvocation : 0;
  const ingestLogGb = (requests * (ingestLogBytesPerRequest + platformLogBytes + accessLogBytes)) / GB;
  add(
    'ingestion',
    'CloudWatch Logs: ingest + access log',
    ingestLogGb * p('logsIngestionPerGb') +
      ingestLogGb * (deployment.logRetentionDays / 30) * p('logsStoragePerGbMonth'),
    `${fmt(ingestLogBytesPerRequest + platformLogBytes)} B function + ${fmt(accessLogBytes)} B access per request`,
  );
  add(
    'ingestion',
    'CloudWatch metrics: ingest (EMF)',
    inputs.ingestMetricSeries * p('customMetricPerMonth'),
    `${inputs.ingestMetricSeries} series`,
  );
  const ingestWrites = requests * inputs.ingestWriteUnitsPerRequest;
  const ingestReads = requests * inputs.ingestReadUnitsPerRequest;
  add(
    'ingestion',
    'DynamoDB: rate limiter, write keys',
    deployment.dynamoMode === 'on-demand'
      ? (ingestWrites / 1e6) * p('dynamoOnDemandPerMillionWrites') +
          (ingestReads / 1e6) * p('dynamoOnDemandPerMillionReads')
      : provisioned(ingestWrites, ingestReads),
    `${inputs.ingestWriteUnitsPerRequest} WU + ${inputs.ingestReadUnitsPerRequest} RU per request, ${deployment.dynamoMode}`,
  );

  // Shards the load needs: 1,000 records/s and 1 MB/s in per shard, kept at most 80 % busy so a
  // peak does not throttle the producers; on-demand starts at 4.
  const neededShards = Math.max(
    1,
    Math.ceil(recordsPerSecond / (1000 * SHARD_UTILISATION)),
    Math.ceil((recordsPerSecond * recordBytes) / (1024 ** 2 * SHARD_UTILISATION)),
  );
  const shards = deployment.kinesisMode === 'provisioned' ? neededShards : Math.max(4, neededShards);
  const extraRetentionHours = Math.max(0, deployment.streamRetentionHours - 24);
  if (deployment.kinesisMode === 'on-demand') {
    const billedGbIn = (records * Math.ceil(recordBytes / 1024) * 1024) / GB;
    const gbOut = (records * recordBytes) / GB;
    const retainedGbMonths = (billedGbIn * extraRetentionHours) / HOURS_PER_MONTH;
    add(
      'ingestion',
      'Kinesis on-demand',
      HOURS_PER_MONTH * p('kinesisOnDemandPerStreamHour') +
        billedGbIn * p('kinesisOnDemandPerGbIn') +
        gbOut * p('kinesisOnDemandPerGbOut') +
        retainedGbMonths * p('kinesisOnDemandExtendedRetentionPerGbMonth'),
      `${fmt(billedGbIn)} GB in (1 KB per record), ${deployment.streamRetentionHours} h retention`,
    );
  } else {
    const putUnits = records * Math.ceil(recordBytes / (25 * 1024));
    add(
      'ingestion',
      'Kinesis provisioned',
      shards * HOURS_PER_MONTH * p('kinesisProvisionedPerShardHour') +
        (putUnits / 1e6) * p('kinesisProvisionedPerMillionPutUnits') +
        (extraRetentionHours > 0
          ? shards * HOURS_PER_MONTH * p('kinesisProvisionedExtendedRetentionPerShardHour')
          : 0),
      `${shards} shards, ${deployment.streamRetentionHours} h retention`,
    );
  }

  // ---- aggregation: consumer, read models -----------------------------------------------------
  const perShardPerSecond = recordsPerSecond / shards;
  const eventsPerBatch = Math.max(
    1,
    Math.min(deployment.batchSize, perShardPerSecond * deployment.batchingWindowSeconds),
  );
  const invocations = records / eventsPerBatch;
  const batches = inputs.consumerBatches;
  const consumerMs =
    deployment.durationFactor *
    lambdaMs(
      interpolate(batches, eventsPerBatch, (b) => b.msPerBatch),
      interpolate(batches, eventsPerBatch, (b) => b.cpuMsPerBatch),
      deployment.consumerMemoryMb,
    );
  add(
    'aggregation',
    'Lambda consumer: requests',
    (invocations / 1e6) * p('lambdaPerMillionRequests'),
    `${fmt(invocations / 1e6, 1)} M batches of ${fmt(eventsPerBatch)}`,
  );
  add(
    'aggregation',
    'Lambda consumer: GB-seconds',
    ((invocations * Math.ceil(consumerMs) * deployment.consumerMemoryMb) / 1024 / 1000) *
      p('lambdaArmPerGbSecond'),
    `${fmt(consumerMs)} ms x ${deployment.consumerMemoryMb} MB per batch`,
  );
  const wuPerEvent = interpolate(batches, eventsPerBatch, (b) => b.writeUnitsPerEvent);
  const ruPerEvent = interpolate(batches, eventsPerBatch, (b) => b.readUnitsPerEvent);
  const writes = records * wuPerEvent;
  const reads = records * ruPerEvent;
  const onDemandDynamo =
    (writes / 1e6) * p('dynamoOnDemandPerMillionWrites') + (reads / 1e6) * p('dynamoOnDemandPerMillionReads');
  const provisionedDynamo = provisioned(writes, reads);
  add(
    'aggregation',
    `DynamoDB writes + reads`,
    deployment.dynamoMode === 'on-demand' ? onDemandDynamo : provisionedDynamo,
    `${fmt(wuPerEvent, 2)} WU + ${fmt(ruPerEvent, 2)} RU per event, ${deployment.dynamoMode}` +
      (deployment.dynamoMode === 'on-demand'
        ? ` (provisioned at 70 %: $${fmt(provisionedDynamo)})`
        : ' at 70 % utilisation'),
  );
  const months = deployment.readModelRetentionDays / 30;
  const storageGb =
    (profile.activePeople * inputs.personBytes * Math.min(months, 12) +
      profile.campaigns * (HOURS_PER_MONTH * 4) * months * inputs.campaignQuarterBytes) /
    GB;
  add('aggregation', 'DynamoDB storage', storageGb * p('dynamoStoragePerGbMonth'), `${fmt(storageGb, 1)} GB`);
  const consumerLogBytes = interpolate(batches, eventsPerBatch, (b) => b.logBytesPerBatch) + platformLogBytes;
  const consumerLogGb = (invocations * consumerLogBytes) / GB;
  add(
    'aggregation',
    'CloudWatch Logs: consumer',
    consumerLogGb * p('logsIngestionPerGb') +
      consumerLogGb * (deployment.logRetentionDays / 30) * p('logsStoragePerGbMonth'),
    `${fmt(consumerLogBytes)} B per batch`,
  );
  add(
    'aggregation',
    'CloudWatch metrics: consumer (EMF)',
    inputs.consumerMetricSeries * p('customMetricPerMonth'),
    `${inputs.consumerMetricSeries} series`,
  );
  add('aggregation', 'S3 failure bucket', 0, 'failed batches only: none in steady state');

  // ---- shared -----------------------------------------------------------------------------------
  // The signing key is re-read every 5 minutes per container (functions/adapters/signing-key.ts).
  const containers = Math.max(1, (profile.requestsPerSecond * ingestMs) / 1000) + shards;
  const secretCalls = containers * HOURS_PER_MONTH * 12;
  add(
    'shared',
    'Secrets Manager',
    p('secretPerMonth') + (secretCalls / 1e4) * p('secretsPer10kApiCalls'),
    `1 secret, ${fmt(secretCalls)} reads`,
  );
  add('shared', 'Cognito (Plus)', profile.analysts * p('cognitoPlusPerMau'), `${profile.analysts} MAU`);

  const sum = (stage: Stage) => lines.filter((l) => l.stage === stage).reduce((n, l) => n + l.usd, 0);
  const totals = {
    ingestion: sum('ingestion'),
    aggregation: sum('aggregation'),
    shared: sum('shared'),
    all: 0,
  };
  totals.all = totals.ingestion + totals.aggregation + totals.shared;
  return { profile, deployment, lines, totals, shards, eventsPerBatch };
};

/** Clickstream's published figures for a volume, if it publishes that volume. */
export const clickstreamAt = (prices: PricesFile, requestsPerSecond: number) => {
  const ingestion = prices.clickstream.ingestion.find((c) => c.requestsPerSecond === requestsPerSecond);
  const processing = prices.clickstream.dataProcessing.find((c) => c.requestsPerSecond === requestsPerSecond);
  return ingestion ? { ingestion, processing } : undefined;
};

/** The cheapest deployment the model finds for a profile, among the choices Pulse offers or could. */
export const recommend = (
  profile: TrafficProfile,
  inputs: CostInputs,
  prices: PricesFile,
  frontDoors: readonly FrontDoor[] = BUILT_FRONT_DOORS,
): Estimate => {
  const candidates: Estimate[] = [];
  // Batch sizes within the measured range; the 1 s window stays (the freshness target, p99 <= 2 s).
  // Memory sizes from 256 MB: the functions' heap grows a few MB per invocation (bench details).
  for (const frontDoor of frontDoors)
    for (const kinesisMode of ['on-demand', 'provisioned'] as const)
      for (const dynamoMode of ['on-demand', 'provisioned'] as const)
        for (const batchSize of [100, 500])
          for (const ingestMemoryMb of [256, 512, 1024])
            for (const consumerMemoryMb of [512, 1024, 1769])
              candidates.push(
                estimate(profile, inputs, prices, {
                  ...DEPLOYED,
                  frontDoor,
                  kinesisMode,
                  dynamoMode,
                  batchSize,
                  ingestMemoryMb,
                  consumerMemoryMb,
                }),
              );
  return candidates.reduce((best, c) => (c.totals.all < best.totals.all ? c : best));
};

/** What a change the model cannot choose alone (it touches the stack or the product) would save on `base`. */
export const whatIfs = (base: Estimate, inputs: CostInputs, prices: PricesFile) => {
  const total = (change: Partial<Deployment>) =>
    estimate(base.profile, inputs, prices, { ...base.deployment, ...change }).totals.all;
  const saving = (change: Partial<Deployment>) => base.totals.all - total(change);
  return {
    'ALB instead of the HTTP API (pulse:frontDoor=alb)':
      total({ frontDoor: 'http-api' }) - total({ frontDoor: 'alb' }),
    'a Lambda function URL (not built) instead of the chosen door': saving({ frontDoor: 'function-url' }),
    'no START/END/REPORT lines (JSON log format, system log level WARN)': saving({ platformLogs: false }),
  };
};
