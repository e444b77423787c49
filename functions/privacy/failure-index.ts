/**
 * Indexes each failed batch Lambda writes to the on-failure bucket: S3 announces the new object
 * (an "Object Created" event, delivered by EventBridge in AWS and by the local stack when its event
 * source mapping emulator writes a failure file), and this reads it once and records which person
 * ids it names (functions/adapters/failure-index.ts). Erasure and export then read only the objects
 * the index names for the person, instead of every object in the bucket within one HTTP request.
 *
 * An object that cannot be read as a failure record is logged and counted, not retried: it holds
 * nothing erasure could find either. S3 or DynamoDB errors throw, so the invocation is retried.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { failureIndexer } from '../../lib/stream';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { FailureIndex, failureIndexExpiry } from '../adapters/failure-index';
import { failureRecordIds, failureStoreFromEnv } from '../adapters/failure-store';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { settings } from '../adapters/settings';

const index = new FailureIndex(documentClient(), requireEnv(tables.quarantine.envVar));
const store = failureStoreFromEnv();
if (!store) throw new Error('No failure store: neither the bucket nor the local folder is configured');
const failures = store;

/** S3's "Object Created" event as EventBridge delivers it (the fields read here). */
export interface ObjectCreatedEvent {
  'detail-type': string;
  source: string;
  time?: string;
  detail: { bucket: { name: string }; object: { key: string; size?: number } };
}

const indexObject = async (key: string, notifiedAt: Date): Promise<void> => {
  const body = await failures.getText(key);
  if (body === undefined) {
    // Erased or expired before we got to it: nothing left to index.
    logger.info('failed batch already gone', { key });
    return;
  }
  const ids = failureRecordIds(body);
  if (ids === undefined) {
    logger.error('failed batch is not a readable on-failure record; not indexed', { key });
    metrics.addMetric(failureIndexer.unindexedMetric, MetricUnit.Count, 1);
    return;
  }
  // The object's expiry counts from its last write, which the notification dates: a batch erasure
  // rewrites (announced again) lives another retention period, and so do its index entries.
  await index.add(key, ids, failureIndexExpiry(notifiedAt, settings.failureRetentionDays));
  metrics.addMetric('FailedBatchesIndexed', MetricUnit.Count, 1);
  logger.info('failed batch indexed', { key, ids: ids.length });
};

const indexNotification = async (event: ObjectCreatedEvent): Promise<void> => {
  if (event.source !== 'aws.s3' || event['detail-type'] !== 'Object Created') {
    logger.warn('not an S3 Object Created event; ignored', {
      source: event.source,
      type: event['detail-type'],
    });
    return;
  }
  const notifiedAt = event.time ? new Date(event.time) : new Date();
  await indexObject(event.detail.object.key, Number.isNaN(notifiedAt.getTime()) ? new Date() : notifiedAt);
};

export const handler = middy(indexNotification).use(injectLambdaContext(logger)).use(logMetrics(metrics));
