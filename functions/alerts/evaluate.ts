/**
 * Campaign alerts, evaluated every few minutes (lib/schedules.ts `alerts-evaluate`): each enabled
 * alert reads its campaign's quarter-hour counters over its window (and baseline), and one that
 * fires becomes an `alert` message in the outbox for every destination asking for alerts; the
 * redrive delivers it. "Now" is the scheduled event's `time`, or the clock.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { DestinationsRepository } from '../adapters/destinations-repository';
import { MetricsRepository } from '../adapters/metrics-repository';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { OutboxRepository } from '../adapters/outbox-repository';
import { evaluateAlerts } from './evaluator';

const db = documentClient();
const deps = {
  destinations: new DestinationsRepository(db, requireEnv(tables.destinations.envVar)),
  metrics: new MetricsRepository(db, requireEnv(tables.metrics.envVar)),
  outbox: new OutboxRepository(db, requireEnv(tables.outbox.envVar)),
};

const scheduledTime = (event: unknown): Date => {
  const time = (event as { time?: unknown } | undefined)?.time;
  const ms = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  return Number.isNaN(ms) ? new Date() : new Date(ms);
};

const evaluate = async (event: unknown) => {
  const now = scheduledTime(event);
  const result = await evaluateAlerts(deps, now);
  metrics.addMetric('AlertsEvaluated', MetricUnit.Count, result.evaluated);
  metrics.addMetric('AlertsFired', MetricUnit.Count, result.fired.length);
  if (result.fired.length > 0) logger.info('alerts fired', { now: now.toISOString(), fired: result.fired });
  return result;
};

export const handler = middy(evaluate).use(injectLambdaContext(logger)).use(logMetrics(metrics));
