/**
 * Metrics compaction, run on a schedule (lib/schedules.ts): rolls closed days of campaign counters
 * up into one item per day (functions/metrics/compactor.ts), so day reports read a bounded number
 * of items. "Now" is the scheduled event's `time`, as in functions/segments/sweep.ts.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricRollups } from '../adapters/metric-rollups';
import { MetricsRepository } from '../adapters/metrics-repository';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { scheduledTime } from '../core/scheduled-event';
import { type CompactionResult, runCompaction } from './compactor';

const db = documentClient();
const table = requireEnv(tables.metrics.envVar);
const repository = new MetricsRepository(db, table);
const deps = { metrics: repository, rollups: new MetricRollups(db, table, repository) };

const SAFETY_MS = 10_000;

const compact = async (event: unknown, context: Context): Promise<CompactionResult> => {
  const now = scheduledTime(event) ?? new Date();
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const result = await runCompaction(deps, now, deadline);
  metrics.addMetric('RollupDays', MetricUnit.Count, result.days);
  metrics.addMetric('RollupRaces', MetricUnit.Count, result.raced);
  if (result.days > 0 || result.unfinished)
    logger.info('metrics compaction', { now: now.toISOString(), ...result });
  return result;
};

export const handler = middy(compact).use(injectLambdaContext(logger)).use(logMetrics(metrics));
