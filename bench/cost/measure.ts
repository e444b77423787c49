/**
 * The cost section of `npm run bench`: every per-request and per-event quantity the cost model
 * reads (bench/cost/inputs.ts), measured through the real handlers of the local stack, invoked
 * in this process:
 *
 *  - the emulators run in a child process (bench/cost/emulators.ts), so the CPU time of this
 *    process during an invocation is the handler's own; the model scales it to the vCPU share
 *    of the function's memory and adds the rest of the wall time (waiting on I/O) unscaled;
 *  - the reference workload (bench/workload.ts) goes through the ingest handler, as 1-event and
 *    500-event requests, onto kinesalite; its records are read back (bytes per record) and fed
 *    to the consumer handler in batches of a few sizes, as the event source mapping would;
 *  - DynamoDB units are DynamoDB's own ConsumedCapacity: a middleware on the functions' shared
 *    client asks for it on every call and sums it (dynalite reports it faithfully, see the
 *    capacity section);
 *  - log bytes are what Powertools Logger and Metrics (EMF) write to stdout during each
 *    invocation, at the deployed level (INFO), with EMF on;
 *  - the access log line is the format of lib/constructs/api.ts filled with one request's values.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { dynamoClient } from '../../functions/adapters/aws';
import { logger } from '../../functions/adapters/observability';
import type { EventType } from '../../functions/core/events';
import { ACCESS_LOG_FORMAT } from '../../lib/constructs/api';
import {
  dynamoClient as localDynamo,
  kinesisClient as localKinesis,
  waitFor,
} from '../../lib/local/emulators';
import { kinesisStreamEvent } from '../../lib/local/kinesis-event';
import { createHandlerResolver, invokeHandler, type LambdaHandler } from '../../lib/local/lambda';
import { aggregateConsumer } from '../../lib/stream';
import { startE2E } from '../../test/support/e2e';
import { validEvent } from '../../test/support/events';
import { itemBytes } from '../ddb-size';
import { generateWorkload, REFERENCE } from '../workload';
import type { ConsumerBatchFigures, CostInputs } from './inputs';

/** Events of the reference workload per consumer batch size (each size gets fresh persons). */
const EVENTS_PER_RUN = 2000;
const CONSUMER_BATCH_SIZES = [aggregateConsumer.batchSize, 100, 20] as const;
const SINGLE_EVENT_REQUESTS = 40;
/** The deployed sizing (lib/pulse-stack.ts): only the Lambda context reports it. */
const HTTP_MEMORY_MB = 512;
const CONSUMER_MEMORY_MB = 1024;

const round = (n: number, digits = 2) => +n.toFixed(digits);
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

// ---- DynamoDB's ConsumedCapacity, from every call the functions make -------------------------

const WRITE_COMMAND = /Put|Update|Delete|Write/;
const capacity = { read: 0, write: 0, failedConditionalWrites: 0 };
/** Units by table and kind ("pulse-local-users read"): where the units of a run go. */
const unitsByTable = new Map<string, number>();

/** Once per process: ask for ConsumedCapacity on every call of the functions' shared client and sum it. */
let metered = false;
const meterCapacity = () => {
  if (metered) return;
  metered = true;
  dynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity ??= 'TOTAL';
      const isWrite = WRITE_COMMAND.test(context.commandName ?? '');
      try {
        const out = await next(args);
        type Consumed = { CapacityUnits?: number; TableName?: string };
        const cc = (out.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
        const entries = Array.isArray(cc) ? cc : cc ? [cc] : [];
        const units = entries.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
        for (const c of entries) {
          const key = `${c.TableName} ${isWrite ? 'write' : 'read'}`;
          unitsByTable.set(key, (unitsByTable.get(key) ?? 0) + (c.CapacityUnits ?? 0));
        }
        if (isWrite) capacity.write += units;
        else capacity.read += units;
        return out;
      } catch (error) {
        // A failed condition carries no ConsumedCapacity; DynamoDB still bills at least 1 WU.
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
          capacity.failedConditionalWrites++;
          capacity.write += 1;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'pulseBenchConsumedCapacity' },
  );
};

// ---- what an invocation writes to stdout -------------------------------------------------------

interface Captured {
  bytes: number;
  emfBytes: number;
  lines: number;
  series: Set<string>;
}

/** EMF documents name their metrics under _aws.CloudWatchMetrics: one series per name and dimension values. */
const seriesOf = (line: string): string[] => {
  try {
    const doc = JSON.parse(line) as {
      _aws?: {
        CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    } & Record<string, unknown>;
    return (doc._aws?.CloudWatchMetrics ?? []).flatMap((d) =>
      d.Metrics.flatMap((m) =>
        d.Dimensions.map(
          (dims) => `${d.Namespace}/${m.Name}/${dims.map((k) => `${k}=${String(doc[k])}`).join(',')}`,
        ),
      ),
    );
  } catch {
    return [];
  }
};

/** Runs `fn` with stdout and stderr captured (and kept off the terminal), counting what was written. */
const capturing = async <T>(
  series: Set<string>,
  fn: () => Promise<T>,
): Promise<{ result: T; log: Captured }> => {
  const log: Captured = { bytes: 0, emfBytes: 0, lines: 0, series };
  const out = process.stdout.write;
  const err = process.stderr.write;
  const take = (chunk: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    // Powertools Metrics warns on stderr when an invocation published nothing: Lambda would log it too.
    for (const line of text.split('\n').filter(Boolean)) {
      const bytes = Buffer.byteLength(line) + 1;
      log.bytes += bytes;
      log.lines++;
      if (line.includes('"_aws"')) {
        log.emfBytes += bytes;
        for (const s of seriesOf(line)) series.add(s);
      }
    }
    return true;
  };
  process.stdout.write = take as typeof process.stdout.write;
  process.stderr.write = take as typeof process.stderr.write;
  try {
    return { result: await fn(), log };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
};

// ---- the access log line and Lambda's own lines ----------------------------------------------

/** The access log format filled with one request's values, as API Gateway writes it ('-' when empty). */
export const accessLogLine = (values: {
  routeKey: string;
  status: number;
  responseLength: number;
  latencyMs: number;
}) => {
  const context: Record<string, string> = {
    '$context.apiId': 'a1b2c3d4e5',
    '$context.requestId': 'Ab1Cd2Ef3Gh4IjA=',
    '$context.requestTimeEpoch': String(Date.now()),
    '$context.routeKey': values.routeKey,
    '$context.status': String(values.status),
    '$context.protocol': 'HTTP/1.1',
    '$context.responseLength': String(values.responseLength),
    '$context.responseLatency': String(Math.round(values.latencyMs) + 2),
    '$context.integration.status': '200',
    '$context.integration.latency': String(Math.round(values.latencyMs)),
    '$context.integrationErrorMessage': '-',
    '$context.error.message': '-',
  };
  return ACCESS_LOG_FORMAT.replace(/\$context\.[A-Za-z.]+/g, (v) => context[v] ?? '-');
};

/** Lambda's START, END and REPORT lines (text format) for one invocation. */
export const platformLines = (requestId: string, ms: number, memoryMb: number) =>
  [
    `START RequestId: ${requestId} Version: $LATEST`,
    `END RequestId: ${requestId}`,
    `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\t` +
      `Memory Size: ${memoryMb} MB\tMax Memory Used: ${Math.round(memoryMb / 5)} MB\t`,
  ].join('\n');

// ---- from measurements to the model's inputs -----------------------------------------------------

/** One invocation as the model needs it. */
export interface MeasuredInvocation {
  ms: number;
  cpuMs: number;
  logBytes: number;
  readUnits: number;
  writeUnits: number;
}

export interface CostMeasurements {
  /** Bytes of each record read back from the stream (data + partition key). */
  recordBytes: number[];
  singleEventRequests: MeasuredInvocation[];
  fullRequests: MeasuredInvocation[];
  consumerRuns: { batchSize: number; events: number; invocations: MeasuredInvocation[] }[];
  accessLogLine: string;
  platformLines: string;
  ingestMetricSeries: number;
  consumerMetricSeries: number;
  storage: { persons: number; usersBytes: number; quarterSlots: number; metricsBytes: number };
}

const measured = (i: Invocation): MeasuredInvocation => ({
  ms: i.ms,
  cpuMs: i.cpuMs,
  logBytes: i.log.bytes,
  readUnits: i.readUnits,
  writeUnits: i.writeUnits,
});

/** The model's inputs (bench/cost/inputs.ts) from what the run measured: medians for times, means for the rest. */
export const costInputsFrom = (m: CostMeasurements): CostInputs => {
  const requests = [...m.singleEventRequests, ...m.fullRequests];
  const lineBytes = (text: string) => text.split('\n').reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  return {
    streamRecordBytes: Math.round(mean(m.recordBytes)),
    ingestMsPerRequest1: round(median(m.singleEventRequests.map((r) => r.ms))),
    ingestMsPerRequest500: round(median(m.fullRequests.map((r) => r.ms))),
    ingestCpuMsPerRequest1: round(median(m.singleEventRequests.map((r) => r.cpuMs))),
    ingestCpuMsPerRequest500: round(median(m.fullRequests.map((r) => r.cpuMs))),
    ingestWriteUnitsPerRequest: round(mean(requests.map((r) => r.writeUnits)), 3),
    ingestReadUnitsPerRequest: round(mean(requests.map((r) => r.readUnits)), 3),
    ingestLogBytesPerRequest1: Math.round(mean(m.singleEventRequests.map((r) => r.logBytes))),
    ingestLogBytesPerRequest500: Math.round(mean(m.fullRequests.map((r) => r.logBytes))),
    accessLogBytesPerRequest: lineBytes(m.accessLogLine),
    platformLogBytesPerInvocation: lineBytes(m.platformLines),
    ingestMetricSeries: m.ingestMetricSeries,
    consumerMetricSeries: m.consumerMetricSeries,
    consumerBatches: m.consumerRuns.map(
      (r): ConsumerBatchFigures => ({
        batchSize: r.batchSize,
        msPerBatch: round(median(r.invocations.map((i) => i.ms))),
        cpuMsPerBatch: round(median(r.invocations.map((i) => i.cpuMs))),
        writeUnitsPerEvent: round(r.invocations.reduce((n, i) => n + i.writeUnits, 0) / r.events, 3),
        readUnitsPerEvent: round(r.invocations.reduce((n, i) => n + i.readUnits, 0) / r.events, 3),
        logBytesPerBatch: Math.round(mean(r.invocations.map((i) => i.logBytes))),
      }),
    ),
    personBytes: Math.round(m.storage.usersBytes / m.storage.persons),
    campaignQuarterBytes: Math.round(m.storage.metricsBytes / m.storage.quarterSlots),
  };
};

// ---- the run ------------------------------------------------------------------------------------

/** A payload 2.0 event of the HTTP API for `POST /api/engagement/events`. */
const batchRequest = (writeKey: string, body: string) => {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'POST /api/engagement/events',
    rawPath: '/api/engagement/events',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-api-key': writeKey, host: 'localhost' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/api/engagement/events',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bench',
      },
      requestId: randomUUID(),
      routeKey: 'POST /api/engagement/events',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
};

interface Invocation {
  ms: number;
  cpuMs: number;
  log: Captured;
  readUnits: number;
  writeUnits: number;
  heapDeltaMb: number;
  result: unknown;
}

const invoke = async (
  handler: LambdaHandler,
  event: unknown,
  options: { handlerModule: string; functionName: string; memoryMb: number; series: Set<string> },
): Promise<Invocation> => {
  const before = { ...capacity };
  const heap = process.memoryUsage().heapUsed;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { result, log } = await capturing(options.series, async () =>
    invokeHandler(handler, event, {
      handlerModule: options.handlerModule,
      functionName: options.functionName,
      region: 'us-east-1',
      timeoutMs: 60_000,
      memoryLimitInMB: options.memoryMb,
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    ms,
    cpuMs: Math.min(ms, (used.user + used.system) / 1000),
    log,
    readUnits: capacity.read - before.read,
    writeUnits: capacity.write - before.write,
    heapDeltaMb: (process.memoryUsage().heapUsed - heap) / 2 ** 20,
    result: result.result,
  };
};

const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');

/** Starts bench/cost/emulators.ts in a child process; resolves with its endpoints and a stop. */
const emulatorsProcess = async () => {
  const child = spawn(tsx, [join(import.meta.dirname, 'emulators.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the emulators process exited with ${code}`);
    }),
  ])) as [string];
  const endpoints = JSON.parse(first) as { dynamodb: string; kinesis: string };
  const stop = async () => {
    const exited = once(child, 'exit');
    child.stdin.end();
    await exited;
  };
  return { endpoints, stop };
};

export const measureCost = async () => {
  const emulators = await emulatorsProcess();
  // EMF on (the local stack turns it off), logs at the deployed level: Powertools' default, INFO.
  const e2e = await startE2E({
    env: {
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
      AWS_ENDPOINT_URL_KINESIS: emulators.endpoints.kinesis,
    },
    consumers: [],
  }).catch(async (error) => {
    await emulators.stop();
    throw error;
  });
  try {
    meterCapacity();
    // The logger may have been made earlier in this process (another section) at another level.
    logger.setLogLevel('INFO');
    const resolve = createHandlerResolver();
    const ingest = await resolve('ingest/engagement');
    const consumer = await resolve(aggregateConsumer.handler);
    const kinesis = localKinesis(e2e.stack.endpoints.kinesis, 'us-east-1');
    const dynamodb = localDynamo(e2e.stack.endpoints.dynamodb, 'us-east-1');
    const streamName = e2e.stack.names.stream;
    const shards =
      (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards?.map(
        (s) => s.ShardId as string,
      ) ?? [];
    const lastSeq = new Map<string, string>();
    /** Records put on the stream since the last call, per shard, in order. */
    const newRecords = async () => {
      const out = new Map<string, _Record[]>();
      for (const shardId of shards) {
        const after = lastSeq.get(shardId);
        let iterator = (
          await kinesis.send(
            new GetShardIteratorCommand({
              StreamName: streamName,
              ShardId: shardId,
              ...(after
                ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
                : { ShardIteratorType: 'TRIM_HORIZON' }),
            }),
          )
        ).ShardIterator;
        const records: _Record[] = [];
        while (iterator) {
          const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
          records.push(...(page.Records ?? []));
          if ((page.Records ?? []).length === 0 || page.MillisBehindLatest === 0) break;
          iterator = page.NextShardIterator;
        }
        const last = records[records.length - 1];
        if (last?.SequenceNumber) lastSeq.set(shardId, last.SequenceNumber);
        out.set(shardId, records);
      }
      return out;
    };

    const ingestSeries = new Set<string>();
    const consumerSeries = new Set<string>();
    const single: Invocation[] = [];
    const full: Invocation[] = [];
    const recordBytes: number[] = [];
    const consumerRuns: { batchSize: number; events: number; invocations: Invocation[] }[] = [];
    const consumerUnitsByTable: { batchSize: number; perEvent: Record<string, number> }[] = [];

    for (const batchSize of CONSUMER_BATCH_SIZES) {
      const events = generateWorkload({ ...REFERENCE, prefix: `cost${batchSize}` }).slice(0, EVENTS_PER_RUN);
      // Consent is required, as deployed: every person grants analytics first (not measured).
      const users = [...new Set(events.map((e) => e.userId as string))];
      const tokens = new Map<string, string>();
      await capturing(new Set(), async () => {
        for (let i = 0; i < users.length; i += 16)
          await Promise.all(
            users.slice(i, i + 16).map(async (u) => tokens.set(u, await e2e.consent(u, { analytics: true }))),
          );
      });
      const asClientEvent = (e: (typeof events)[number]) =>
        validEvent(e.type as EventType, {
          eventId: e.eventId,
          userId: e.userId,
          campaignId: e.campaignId,
          deviceType: e.deviceType,
          channel: e.channel,
          timestamp: e.timestamp,
          properties: e.properties,
          consentToken: tokens.get(e.userId as string),
        });
      const send = async (slice: typeof events, into: Invocation[]) => {
        const body = JSON.stringify({ events: slice.map(asClientEvent) });
        const run = await invoke(ingest, batchRequest(e2e.writeKey, body), {
          handlerModule: 'ingest/engagement',
          functionName: 'pulse-ingest-engagement',
          memoryMb: HTTP_MEMORY_MB,
          series: ingestSeries,
        });
        const status = (run.result as { statusCode?: number }).statusCode;
        if (status !== 202)
          throw new Error(`ingest answered ${status}: ${(run.result as { body?: string }).body}`);
        into.push(run);
      };
      // The first run also measures 1-event requests (the first invocation warms the module up).
      let from = 0;
      if (batchSize === CONSUMER_BATCH_SIZES[0]) {
        for (; from < SINGLE_EVENT_REQUESTS; from++) await send(events.slice(from, from + 1), single);
        single.shift();
      }
      for (let i = from; i < events.length; i += 500) {
        // The source's rate limit takes a full request only into an empty one-second window.
        const second = Math.floor(Date.now() / 1000);
        await waitFor(
          'the next rate-limit window',
          Date.now() + 2000,
          async () => Math.floor(Date.now() / 1000) > second,
        );
        await send(events.slice(i, i + 500), full);
      }

      const perShard = await newRecords();
      const tablesBefore = new Map(unitsByTable);
      const runs: Invocation[] = [];
      for (const [shardId, records] of perShard) {
        for (const r of records)
          recordBytes.push((r.Data?.byteLength ?? 0) + Buffer.byteLength(r.PartitionKey ?? ''));
        for (let i = 0; i < records.length; i += batchSize) {
          const event: KinesisStreamEvent = kinesisStreamEvent(records.slice(i, i + batchSize), {
            shardId,
            streamArn: e2e.stack.names.streamArn,
            region: 'us-east-1',
            consumer: aggregateConsumer.name,
          });
          const run = await invoke(consumer, event, {
            handlerModule: 'aggregate/consumer',
            functionName: 'pulse-aggregate-consumer',
            memoryMb: CONSUMER_MEMORY_MB,
            series: consumerSeries,
          });
          const failures = (run.result as { batchItemFailures?: unknown[] }).batchItemFailures ?? [];
          if (failures.length > 0) throw new Error(`consumer reported failures at batch size ${batchSize}`);
          runs.push(run);
        }
      }
      consumerRuns.push({ batchSize, events: events.length, invocations: runs });
      consumerUnitsByTable.push({
        batchSize,
        perEvent: Object.fromEntries(
          [...unitsByTable].map(([k, v]) => [k, round((v - (tablesBefore.get(k) ?? 0)) / events.length, 3)]),
        ),
      });
    }

    // Read-model storage: every item of the users and metrics tables, sized by the guide's rules.
    const tableBytes = async (table: string) => {
      let bytes = 0;
      let items = 0;
      let start: Record<string, never> | undefined;
      do {
        const page = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) bytes += itemBytes(item);
        items += page.Count ?? 0;
        start = page.LastEvaluatedKey as typeof start;
      } while (start);
      return { bytes, items };
    };
    const workloads = CONSUMER_BATCH_SIZES.flatMap((b) =>
      generateWorkload({ ...REFERENCE, prefix: `cost${b}` }).slice(0, EVENTS_PER_RUN),
    );
    const persons = new Set(workloads.map((e) => e.personKey)).size;
    const quarterSlots = new Set(
      workloads.map(
        (e) =>
          `${e.campaignId}|${e.timestamp.slice(0, 14)}${Math.floor(Number(e.timestamp.slice(14, 16)) / 15)}`,
      ),
    ).size;
    const users = await tableBytes(e2e.stack.names.tables.users);
    const metrics = await tableBytes(e2e.stack.names.tables.metrics);

    const access = accessLogLine({
      routeKey: 'POST /api/engagement/events',
      status: 202,
      responseLength: JSON.stringify({
        accepted: 10,
        eventIds: Array.from({ length: 10 }, (_, i) => `evt-${i}`),
      }).length,
      latencyMs: median(single.map((r) => r.ms)),
    });
    const inputs = costInputsFrom({
      recordBytes,
      singleEventRequests: single.map(measured),
      fullRequests: full.map(measured),
      consumerRuns: consumerRuns.map((r) => ({ ...r, invocations: r.invocations.map(measured) })),
      accessLogLine: access,
      platformLines: platformLines(randomUUID(), 12.34, HTTP_MEMORY_MB),
      ingestMetricSeries: ingestSeries.size,
      consumerMetricSeries: consumerSeries.size,
      storage: { persons, usersBytes: users.bytes, quarterSlots, metricsBytes: metrics.bytes },
    });
    return {
      inputs,
      details: {
        workload: { ...REFERENCE, eventsPerRun: EVENTS_PER_RUN, runs: CONSUMER_BATCH_SIZES.length },
        ingest: {
          singleEventRequests: single.length,
          fullRequests: full.length,
          emfBytesPerRequest1: Math.round(mean(single.map((r) => r.log.emfBytes))),
          emfBytesPerRequest500: Math.round(mean(full.map((r) => r.log.emfBytes))),
          logLinesPerRequest500: round(mean(full.map((r) => r.log.lines)), 1),
          heapDeltaMbMax: round(Math.max(...[...single, ...full].map((r) => r.heapDeltaMb)), 1),
          memoryMb: HTTP_MEMORY_MB,
        },
        consumer: {
          batches: consumerRuns.map((r) => ({
            batchSize: r.batchSize,
            batches: r.invocations.length,
            wallMsMedian: round(median(r.invocations.map((i) => i.ms))),
            heapDeltaMbMax: round(Math.max(...r.invocations.map((i) => i.heapDeltaMb)), 1),
          })),
          memoryMb: CONSUMER_MEMORY_MB,
          unitsByTable: consumerUnitsByTable,
        },
        failedConditionalWrites: capacity.failedConditionalWrites,
        storage: { persons, quarterSlots, users, metrics },
        accessLogLine: access,
        metricSeries: { ingest: [...ingestSeries].sort(), consumer: [...consumerSeries].sort() },
        rssMb: round(process.memoryUsage().rss / 2 ** 20, 0),
        note: 'ms: wall time on this machine, emulators in another process; cpuMs: this process only (the handler)',
      },
    };
  } finally {
    await e2e.close();
    await emulators.stop();
  }
};

/** measureCost in a fresh process (bench/cost/measure-main.ts), as `npm run bench` runs it. */
export const measureCostIsolated = async (): Promise<Awaited<ReturnType<typeof measureCost>>> => {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-cost-'));
  const out = join(dir, 'cost.json');
  try {
    await promisify(execFile)(tsx, [join(import.meta.dirname, 'measure-main.ts'), out], {
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stderr?: string; message: string }) => {
      // The child's stderr ends with the cause; the rest is the handlers' warnings.
      const tail = (error.stderr ?? error.message).trim().split('\n').slice(-12).join('\n');
      throw new Error(`the cost measurement failed:\n${tail}`);
    });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
