/**
 * The measured quantities the cost model (bench/cost/model.ts) reads, by key: `npm run bench`'s
 * cost section (bench/cost/measure.ts) writes each of them to bench/results.json under
 * `cost.inputs`, and a unit test checks that the model reads nothing else.
 */

/** One consumer batch size as measured: the real consumer handler on the reference workload. */
export interface ConsumerBatchFigures {
  /** Records per invocation (the ESM's batch size, or less when the window closes first). */
  batchSize: number;
  /** Wall time per invocation on this machine, and the handler's own CPU time within it. */
  msPerBatch: number;
  cpuMsPerBatch: number;
  /** DynamoDB's own ConsumedCapacity, summed over every call the handler made. */
  writeUnitsPerEvent: number;
  readUnitsPerEvent: number;
  /** What Powertools Logger and Metrics (EMF) wrote to stdout per invocation, at the deployed level. */
  logBytesPerBatch: number;
}

export interface CostInputs {
  /** Mean bytes of a stream record (data + partition key) of the reference workload. */
  streamRecordBytes: number;
  /** Ingest handler, one invocation with 1 event and with 500 events (ms, this machine). */
  ingestMsPerRequest1: number;
  ingestMsPerRequest500: number;
  /** The handler's own CPU time within those (the rest is waiting on DynamoDB and Kinesis). */
  ingestCpuMsPerRequest1: number;
  ingestCpuMsPerRequest500: number;
  /** DynamoDB units one ingest request consumes (rate limiter, write keys), per request. */
  ingestWriteUnitsPerRequest: number;
  ingestReadUnitsPerRequest: number;
  /** Powertools Logger + EMF bytes one ingest invocation writes, for 1 and 500 events. */
  ingestLogBytesPerRequest1: number;
  ingestLogBytesPerRequest500: number;
  /** API Gateway access log line of one ingest request (the format in lib/constructs/api.ts). */
  accessLogBytesPerRequest: number;
  /** START / END / REPORT lines Lambda itself writes per invocation. */
  platformLogBytesPerInvocation: number;
  /** Distinct EMF metric series (name + dimensions) each function publishes. */
  ingestMetricSeries: number;
  consumerMetricSeries: number;
  /** Consumer figures at a few batch sizes; the model interpolates between them. */
  consumerBatches: ConsumerBatchFigures[];
  /** Read-model storage: bytes per person (users table) and per campaign quarter-hour (metrics table). */
  personBytes: number;
  campaignQuarterBytes: number;
}

/** Every key of CostInputs, with what it is: the contract between bench and model. */
export const COST_INPUT_KEYS = [
  'streamRecordBytes',
  'ingestMsPerRequest1',
  'ingestMsPerRequest500',
  'ingestCpuMsPerRequest1',
  'ingestCpuMsPerRequest500',
  'ingestWriteUnitsPerRequest',
  'ingestReadUnitsPerRequest',
  'ingestLogBytesPerRequest1',
  'ingestLogBytesPerRequest500',
  'accessLogBytesPerRequest',
  'platformLogBytesPerInvocation',
  'ingestMetricSeries',
  'consumerMetricSeries',
  'consumerBatches',
  'personBytes',
  'campaignQuarterBytes',
] as const satisfies readonly (keyof CostInputs)[];
