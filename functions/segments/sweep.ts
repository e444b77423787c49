/**
 * The segments sweep, run on a schedule (lib/schedules.ts: an EventBridge rule in AWS, a timer in
 * the local stack): re-evaluates rule checks that came due and advances rule backfills
 * (functions/segments/sweeper.ts).
 *
 * "Now" is the scheduled event's `time` (the minute it was scheduled for), so a late or retried
 * run evaluates the minute it stands for; without one, the clock.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { IdentityReader } from '../adapters/identity-reader';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { TagsRepository } from '../adapters/tags-repository';
import { scheduledTime } from '../core/scheduled-event';
import { runSweep, type SweepResult } from './sweeper';

const db = documentClient();
const usersTable = requireEnv(tables.users.envVar);
const deps = {
  tags: new TagsRepository(db, requireEnv(tables.tags.envVar), membershipTriggersFromEnv(db)),
  people: new PeopleRepository(db, usersTable),
  identity: new IdentityReader(db, usersTable),
};

/** Time left for backfill pages once the due checks are done; the rest waits for the next run. */
const SAFETY_MS = 10_000;

const sweep = async (event: unknown, context: Context): Promise<SweepResult> => {
  const now = scheduledTime(event) ?? new Date();
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const result = await runSweep(deps, now, deadline);
  metrics.addMetric('RuleChecksDue', MetricUnit.Count, result.due.checks);
  metrics.addMetric('BackfillPersons', MetricUnit.Count, result.backfill.persons);
  // Every minute, mostly idle: only runs that did something are worth a line.
  if (result.due.checks > 0 || result.backfill.jobs > 0)
    logger.info('segments sweep', { now: now.toISOString(), ...result });
  return result;
};

export const handler = middy(sweep).use(injectLambdaContext(logger)).use(logMetrics(metrics));
