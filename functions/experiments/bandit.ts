/**
 * The bandit schedule (lib/schedules.ts, every 30 minutes): for every running bandit, Thompson sampling on its
 * primary metric sets the weights new persons are bucketed by (functions/core/bandit.ts, with
 * the experiment's exploration floor). Assigned persons keep their arm: assignments are stored at
 * first exposure, and SDKs keep theirs with GrowthBook's sticky bucketing.
 *
 * "Now" is the scheduled event's `time`; without one, the clock.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { MetricsRepository } from '../adapters/metrics-repository';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { modeOf } from '../core/experiment-design';
import { banditAllocation } from '../core/experiment-results';

const db = documentClient();
const experiments = new ExperimentsRepository(db, requireEnv(tables.experiments.envVar));
const counters = new MetricsRepository(db, requireEnv(tables.metrics.envVar));

const scheduledTime = (event: unknown): Date | undefined => {
  const time = (event as { time?: unknown } | undefined)?.time;
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms);
};

export interface BanditRun {
  bandits: number;
  reallocated: string[];
  inBurnIn: string[];
}

const reallocate = async (event: unknown): Promise<BanditRun> => {
  const now = scheduledTime(event) ?? new Date();
  const bandits = (await experiments.list()).filter((e) => e.status === 'running' && modeOf(e) === 'bandit');
  const run: BanditRun = { bandits: bandits.length, reallocated: [], inBurnIn: [] };
  for (const e of bandits) {
    const allocation = banditAllocation(e, await counters.experimentCounters(e.experimentId), now);
    if (!allocation) {
      run.inBurnIn.push(e.experimentId);
      continue;
    }
    // Stopped meanwhile: the condition refuses, and nothing is left to reallocate.
    if (await experiments.setAllocation(e.experimentId, allocation)) {
      run.reallocated.push(e.experimentId);
      logger.info('bandit reallocated', { experimentId: e.experimentId, weights: allocation.weights });
    }
  }
  metrics.addMetric('BanditsReallocated', MetricUnit.Count, run.reallocated.length);
  return run;
};

export const handler = middy(reallocate).use(injectLambdaContext(logger)).use(logMetrics(metrics));
