/**
 * Bench section `models` (docs/models.md): over 100,000 synthetic people whose conversion follows
 * their engagement — extract (features and labels from the person items, in process), training
 * (IRLS fit, evaluation, reference distribution) with its time and heap, and scoring throughput
 * (the dot product the consumer and the score step run per person), each against a baseline
 * measured in the same run: decoding the same people's daily counts (what any per-person job
 * pays) for extract and scoring, and one pass of X·β over the rows for the fit. Then the weekly
 * run's AWS cost from the cost model's prices (bench/cost/prices.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CanonicalEvent } from '../functions/core/events';
import { parseModelBody } from '../functions/core/models/definition';
import { historyOf } from '../functions/core/models/features';
import { prng } from '../functions/core/models/random';
import { rowsOf } from '../functions/core/models/rows';
import { rescore } from '../functions/core/models/scoring';
import { type RunRows, trainVersion } from '../functions/core/models/train';
import { applyEvent, emptyPerson, type PersonStats } from '../functions/core/person';
import type { PricesFile } from './cost/model';

const PEOPLE = 100_000;
const DAY = 86_400_000;

const population = (now: Date, n: number): PersonStats[] => {
  const random = prng(17);
  const types = ['view', 'click', 'video-play', 'share'];
  return Array.from({ length: n }, (_, i) => {
    const p = emptyPerson(`bench-${i}`);
    const activity = random() * 3;
    const events = Math.floor(activity * 10);
    for (let e = 0; e < events; e++) {
      const daysAgo = 1 + Math.floor(random() * 80);
      applyEvent(p, {
        type: types[Math.floor(random() * types.length)],
        eventTime: new Date(now.getTime() - daysAgo * DAY).toISOString(),
        data: {},
        personKey: p.personKey,
      } as unknown as CanonicalEvent);
    }
    // Conversion in the last two weeks, likelier the more engaged.
    if (random() < 1 / (1 + Math.exp(3 - 2 * activity)))
      applyEvent(p, {
        type: 'conversion',
        eventTime: new Date(now.getTime() - (1 + Math.floor(random() * 13)) * DAY).toISOString(),
        data: {},
        personKey: p.personKey,
      } as unknown as CanonicalEvent);
    return p;
  });
};

const seconds = (ms: number) => +(ms / 1000).toFixed(3);

export const modelsBench = async () => {
  const now = new Date();
  const today = Math.floor(now.getTime() / DAY);
  const people = population(now, PEOPLE);
  const def = parseModelBody(
    'bench',
    {
      kind: 'propensity',
      target: { type: 'conversion' },
      horizonDays: 14,
      tags: [{ tag: 'top', when: { percentileAtLeast: 90 } }],
    },
    now,
  );

  // Baseline: decoding every person's daily counts, what any per-person pass pays.
  let t = performance.now();
  let days = 0;
  for (const p of people) days += historyOf(p).days.size;
  const decodeMs = performance.now() - t;

  t = performance.now();
  const rows: RunRows = { training: [], current: [] };
  for (const p of people) {
    const r = rowsOf(def, p, today);
    if (r.training) rows.training.push(r.training);
    if (r.current) rows.current.push(r.current);
  }
  const extractMs = performance.now() - t;

  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  t = performance.now();
  const version = { ...trainVersion(def, rows, { now, seed: 1 }), version: 1, published: true };
  const trainMs = performance.now() - t;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  clearInterval(sampler);

  // Baseline for the fit: one pass of X·β over the same rows (a fit is a few such passes plus XᵀWX).
  t = performance.now();
  let sink = 0;
  const beta = version.coefficients ?? [];
  for (const r of rows.training)
    for (let j = 0; j < r.x.length; j++) sink += (beta[j + 1] ?? 0) * (r.x[j] as number);
  const passMs = performance.now() - t;

  t = performance.now();
  let scored = 0;
  const published = [{ definition: def, version }];
  for (const p of people) if (rescore(published, p, now, true).scores) scored++;
  const scoreMs = performance.now() - t;

  // Weekly run in AWS: the Scan of person items twice (extract, score), one write per scored
  // person, the steps' Lambda time at 3,008 MB (this machine's CPU time standing in), and the
  // workflow's transitions (plan every 15 minutes, plus a run's states).
  const prices = JSON.parse(
    readFileSync(join(import.meta.dirname, 'cost', 'prices.json'), 'utf8'),
  ) as PricesFile;
  const p = (k: keyof PricesFile['prices']) => prices.prices[k].usd;
  const ITEM_KB = 2;
  const scanReads = 2 * PEOPLE * (ITEM_KB / 4) * 0.5; // eventually consistent Scan: 0.5 RCU per 4 KB
  const scoreWrites = scored * Math.ceil(ITEM_KB);
  const lambdaGbS = ((extractMs + trainMs + scoreMs) / 1000) * (3008 / 1024);
  const STATE_TRANSITION_USD = 0.000025; // Step Functions standard, per transition (not in prices.json: unverified)
  const transitions = 7 * 24 * 4 * 3 + (8 * 2 + 8 * 2 + 8);
  const cost = {
    dynamoReadsUsd: +((scanReads / 1e6) * p('dynamoOnDemandPerMillionReads')).toFixed(4),
    dynamoWritesUsd: +((scoreWrites / 1e6) * p('dynamoOnDemandPerMillionWrites')).toFixed(4),
    lambdaUsd: +(lambdaGbS * p('lambdaArmPerGbSecond')).toFixed(4),
    stepFunctionsUsd: +(transitions * STATE_TRANSITION_USD).toFixed(4),
  };
  return {
    people: PEOPLE,
    trainingRows: rows.training.length,
    positives: rows.training.reduce((n, r) => n + r.y, 0),
    extract: {
      seconds: seconds(extractMs),
      decodeBaselineSeconds: seconds(decodeMs),
      ratio: +(extractMs / decodeMs).toFixed(1),
    },
    train: {
      seconds: seconds(trainMs),
      heapMb: +((peak - heapBefore) / 2 ** 20).toFixed(1),
      rowsHeapMb: +(((rows.training.length + rows.current.length) * (8 * 22 + 64)) / 2 ** 20).toFixed(1),
      passBaselineSeconds: seconds(passMs),
      ratio: +(trainMs / Math.max(passMs, 0.001)).toFixed(0),
      auc: +(version.evaluation?.auc ?? 0).toFixed(3),
      gate: version.gate,
    },
    score: {
      personsPerSecond: Math.round(PEOPLE / (scoreMs / 1000)),
      decodeBaselinePersonsPerSecond: Math.round(PEOPLE / (decodeMs / 1000)),
      ratio: +(scoreMs / decodeMs).toFixed(1),
      scored,
    },
    weeklyRunUsd: {
      ...cost,
      total: +Object.values(cost)
        .reduce((a, b) => a + b, 0)
        .toFixed(4),
      assumptions: { itemKb: ITEM_KB, transitions },
    },
    _sink: sink + days,
  };
};
