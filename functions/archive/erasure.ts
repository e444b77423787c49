/**
 * Erasure in the archive, run on a schedule (lib/schedules.ts `archive-erasure`): rewrites the
 * Parquet files that hold erased persons' rows without them (functions/adapters/archive-store.ts),
 * for every erasure old enough that Firehose has landed what it held. Stops before the function's
 * timeout; the next run goes on where it stopped.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { sqlEngine } from '../adapters/analytics-engine';
import { type RewriteOutcome, rewriteErased } from '../adapters/archive-store';
import { objectStoreFor } from '../adapters/object-store';
import { logger, MetricUnit, metrics } from '../adapters/observability';

/** Room left for the rewrite in flight when the deadline comes. */
const SAFETY_MS = 30_000;

const erase = async (event: unknown, context: Context): Promise<RewriteOutcome> => {
  const bucket = objectStoreFor('archive');
  if (!bucket) throw new Error('the archive bucket is not configured');
  const time = (event as { time?: unknown } | undefined)?.time;
  const now = typeof time === 'string' && !Number.isNaN(Date.parse(time)) ? new Date(time) : new Date();
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const outcome = await rewriteErased(await sqlEngine(), bucket, now, { deadline });
  metrics.addMetric('ArchiveFilesRewritten', MetricUnit.Count, outcome.filesRewritten);
  metrics.addMetric('ArchiveRowsErased', MetricUnit.Count, outcome.rowsRemoved);
  if (outcome.requests > 0) logger.info('archive erasure', { ...outcome });
  return outcome;
};

export const handler = middy(erase).use(injectLambdaContext(logger)).use(logMetrics(metrics));
