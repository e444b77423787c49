/**
 * The cost model reads measured inputs only, every one of which the bench's cost section
 * produces, and prices that each name where they were read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COST_INPUT_KEYS, type CostInputs } from '../../bench/cost/inputs';
import { type CostMeasurements, costInputsFrom, type MeasuredInvocation } from '../../bench/cost/measure';
import {
  DEPLOYED,
  estimate,
  interpolate,
  lambdaMs,
  PRESETS,
  type PriceKey,
  type PricesFile,
  recommend,
} from '../../bench/cost/model';

const prices = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../bench/cost/prices.json'), 'utf8'),
) as PricesFile;

const call = (ms: number, units = 1): MeasuredInvocation => ({
  ms,
  cpuMs: ms / 2,
  logBytes: 600,
  readUnits: units,
  writeUnits: units,
});

/** A small run of the bench's cost section, made up: what costInputsFrom turns into inputs. */
const measurements: CostMeasurements = {
  recordBytes: [400, 470],
  singleEventRequests: [call(10), call(12), call(11)],
  fullRequests: [call(200), call(220)],
  consumerRuns: [500, 100, 20].map((batchSize) => ({
    batchSize,
    events: 2000,
    invocations: Array.from({ length: 2000 / batchSize }, () => call(batchSize * 2, batchSize / 2)),
  })),
  accessLogLine: '{"apiId":"x","status":"202"}',
  platformLines: 'START RequestId: x\nEND RequestId: x\nREPORT RequestId: x',
  ingestMetricSeries: 2,
  consumerMetricSeries: 8,
  storage: { persons: 10, usersBytes: 5000, quarterSlots: 3, metricsBytes: 3000 },
};
const inputs = costInputsFrom(measurements);

/** Wraps `target` so that every key read from it is recorded. */
const recording = <T extends object>(target: T, read: Set<string>): T =>
  new Proxy(target, {
    get: (t, key, receiver) => {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(t, key, receiver);
    },
  });

describe('cost model inputs', () => {
  it('the measure module produces every input the model declares, each a measured figure', () => {
    for (const key of COST_INPUT_KEYS) {
      const value = inputs[key];
      if (key === 'consumerBatches') {
        expect(inputs.consumerBatches.length).toBeGreaterThan(1);
        for (const b of inputs.consumerBatches)
          for (const v of Object.values(b))
            expect(Number.isFinite(v), `consumerBatches.${b.batchSize}`).toBe(true);
      } else expect(Number.isFinite(value), key).toBe(true);
    }
    expect(Object.keys(inputs).sort()).toEqual([...COST_INPUT_KEYS].sort());
  });

  it('the model reads no input the bench does not declare, and every declared one is read', () => {
    const read = new Set<string>();
    for (const profile of PRESETS) {
      for (const frontDoor of ['http-api', 'function-url', 'alb'] as const)
        for (const kinesisMode of ['on-demand', 'provisioned'] as const)
          estimate(profile, recording(inputs, read), prices, { ...DEPLOYED, frontDoor, kinesisMode });
    }
    expect([...read].filter((k) => !(COST_INPUT_KEYS as readonly string[]).includes(k))).toEqual([]);
    expect(COST_INPUT_KEYS.filter((k) => !read.has(k))).toEqual([]);
  });

  it('a missing input fails the estimate instead of costing nothing', () => {
    const { streamRecordBytes: _, ...partial } = inputs;
    const e = estimate(PRESETS[1] as (typeof PRESETS)[number], partial as CostInputs, prices);
    expect(Number.isNaN(e.totals.all)).toBe(true);
  });
});

describe('prices file', () => {
  it('names the region, the date read, and a source for each price the model uses', () => {
    expect(prices.region).toBe('us-east-1');
    expect(prices.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const read = new Set<string>();
    const tracked = { ...prices, prices: recording(prices.prices, read) };
    for (const profile of PRESETS)
      for (const frontDoor of ['http-api', 'function-url', 'alb'] as const)
        for (const kinesisMode of ['on-demand', 'provisioned'] as const)
          for (const dynamoMode of ['on-demand', 'provisioned'] as const)
            estimate(profile, inputs, tracked, { ...DEPLOYED, frontDoor, kinesisMode, dynamoMode });
    expect(read.size).toBeGreaterThan(20);
    for (const key of read) {
      const price = prices.prices[key as PriceKey];
      expect(price, key).toBeDefined();
      expect(Number.isFinite(price.usd), key).toBe(true);
      expect(price.source, key).toMatch(/^https:\/\//);
      expect(price.awsPage, key).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(typeof price.verified, key).toBe('boolean');
    }
    // Every price in the file has a source too, used or not.
    for (const [key, price] of Object.entries(prices.prices))
      expect(price.source, key).toMatch(/^https:\/\//);
  });

  it("records Clickstream's published figures and where they come from", () => {
    expect(prices.clickstream.source).toContain('clickstream-analytics-on-aws');
    expect(
      prices.clickstream.ingestion.map((c) => [c.requestsPerSecond, c.provisionedKinesis, c.onDemandKinesis]),
    ).toEqual([
      [10, 154, 168],
      [100, 194, 254],
      [1000, 678, 1108],
    ]);
  });
});

describe('cost model arithmetic', () => {
  it('interpolates between measured batch sizes and extends the nearest segment', () => {
    const points = inputs.consumerBatches;
    const at = (n: number) => interpolate(points, n, (b) => b.msPerBatch);
    expect(at(100)).toBeCloseTo(200);
    expect(at(300)).toBeCloseTo(600);
    expect(at(10)).toBeCloseTo(20);
  });

  it("stretches CPU time to the memory's vCPU share, not the waiting", () => {
    expect(lambdaMs(10, 10, 1769)).toBeCloseTo(10);
    expect(lambdaMs(30, 10, 884.5)).toBeCloseTo(40);
    expect(lambdaMs(30, 10, 3538)).toBeCloseTo(30);
  });

  it('bills the HTTP API in tiers and each Kinesis record as at least 1 KB', () => {
    const profile = { ...(PRESETS[2] as (typeof PRESETS)[number]) }; // 1,000 req/s
    const e = estimate(profile, inputs, prices, DEPLOYED);
    const api = e.lines.find((l) => l.component === 'API Gateway HTTP API');
    // 2,628 M requests: 300 M at $1.00, the rest at $0.90.
    expect(api?.usd).toBeCloseTo(300 + 2328 * 0.9, 0);
    const kinesis = e.lines.find((l) => l.component === 'Kinesis on-demand');
    const recordsPerMonth = 1000 * 10 * 730 * 3600;
    const gbIn = (recordsPerMonth * 1024) / 1024 ** 3;
    expect(kinesis?.usd).toBeGreaterThan(gbIn * 0.08);
  });

  it('sizes provisioned shards by records and bytes per second', () => {
    const e = estimate(PRESETS[3] as (typeof PRESETS)[number], inputs, prices, {
      ...DEPLOYED,
      kinesisMode: 'provisioned',
    });
    expect(e.shards).toBe(125); // 100,000 records/s at 1,000 per shard, 80 % busy
  });

  it('recommends the cheapest of the deployments it compares', () => {
    for (const profile of PRESETS) {
      const best = recommend(profile, inputs, prices);
      const deployed = estimate(profile, inputs, prices, DEPLOYED);
      expect(best.totals.all).toBeLessThanOrEqual(deployed.totals.all);
    }
  });
});
