/**
 * The destinations redrive, run every minute (lib/schedules.ts): for each enabled destination the
 * breaker does not hold paused, takes the outbox messages that came due (retries, segment and
 * alert triggers, replayed events, attempts whose lease ran out) from the sparse due index, claims
 * them and delivers them (deliver.ts); then advances running replays by a slice each. Before
 * deliveries, it forwards erasures to the vendors' deletion APIs (forward-erasure.ts). Stops before
 * the function's timeout and leaves the rest to the next run.
 *
 * "Now" is the scheduled event's `time`, or the clock.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { archivedEvents } from '../adapters/archive-reader';
import { documentClient, requireEnv } from '../adapters/aws';
import { destinationSecrets } from '../adapters/destination-secrets';
import { ErasureRequests } from '../adapters/erasure-requests';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { sendRequest } from '../adapters/vendor-transport';
import { Pacer } from './deliver';
import { countForwarded, type ForwardDeps, forwardDue } from './forward-erasure';
import { type DrainResult, drainDue, type ReplayStep, stepReplays } from './redrive-steps';
import { countOverdue, countRound, deliverDeps, destinations, enabledDestinations, outbox } from './wiring';

// Erasure forwarded to vendors' deletion APIs: every destination's requests, enabled or not.
const forwardDeps: ForwardDeps = {
  requests: new ErasureRequests(documentClient(), requireEnv(tables.outbox.envVar)),
  destinations,
  secrets: destinationSecrets(),
  send: sendRequest,
  pace: new Pacer(),
};

/** Left for the last round to settle before the function's timeout. */
const SAFETY_MS = 20_000;

const scheduledTime = (event: unknown): Date | undefined => {
  const time = (event as { time?: unknown } | undefined)?.time;
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms);
};

const redrive = async (
  event: unknown,
  context: Context,
): Promise<{ drained: DrainResult[]; replays: ReplayStep[]; erasures: number }> => {
  // The scheduled minute, but never before the clock: a late run still delivers what is due now.
  const now = new Date(Math.max(scheduledTime(event)?.getTime() ?? 0, Date.now()));
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const list = await enabledDestinations.get();
  const deps = await deliverDeps();
  const replays = await stepReplays({ destinations, outbox, archive: archivedEvents() }, list, now, deadline);
  // Erasures first: few, and owed to the person within the month.
  const erasures = await forwardDue(forwardDeps, now, deadline);
  countForwarded(erasures);
  const drained = await drainDue({ deps, list, now, deadline, onRound: countRound });
  const delivered = drained.reduce((n, d) => n + d.delivered, 0);
  metrics.addMetric('RedriveDelivered', MetricUnit.Count, delivered);
  for (const d of drained) if (d.attempted > 0) countOverdue(d.destinationId, d.overdueSeconds);
  if (drained.some((d) => d.attempted > 0) || replays.length > 0 || erasures.length > 0)
    logger.info('destinations redrive', {
      now: now.toISOString(),
      drained,
      replays,
      erasures: erasures.length,
    });
  return { drained, replays, erasures: erasures.length };
};

export const handler = middy(redrive).use(injectLambdaContext(logger)).use(logMetrics(metrics));
