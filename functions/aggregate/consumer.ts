/**
 * The stream consumer: applies each batch to the read models exactly once (apply-batch.ts)
 * and answers Lambda with a partial batch response naming the lowest record not applied.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricsRepository } from '../adapters/metrics-repository';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { QuarantineRepository } from '../adapters/quarantine-repository';
import { applyBatch } from './apply-batch';

const db = documentClient();
const deps = {
  people: new PeopleRepository(db, requireEnv(tables.users.envVar)),
  counters: new MetricsRepository(db, requireEnv(tables.metrics.envVar)),
  quarantine: new QuarantineRepository(db, requireEnv(tables.quarantine.envVar)),
};

const consume = async (event: KinesisStreamEvent, _context: Context): Promise<KinesisStreamBatchResponse> => {
  const outcome = await applyBatch(event.Records, deps);
  metrics.addMetric('EventsApplied', MetricUnit.Count, outcome.applied);
  metrics.addMetric('DuplicatesDropped', MetricUnit.Count, outcome.duplicates);
  metrics.addMetric('RecordsQuarantined', MetricUnit.Count, outcome.quarantined);
  metrics.addMetric('WriteUnits', MetricUnit.Count, outcome.writeUnits);
  metrics.addMetric('RecordAge', MetricUnit.Milliseconds, outcome.maxRecordAgeMs);
  logger.info('batch applied', { records: event.Records.length, ...outcome });
  return { batchItemFailures: outcome.failedFrom ? [{ itemIdentifier: outcome.failedFrom }] : [] };
};

export const handler = middy(consume).use(injectLambdaContext(logger)).use(logMetrics(metrics));
