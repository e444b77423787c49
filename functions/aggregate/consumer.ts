/**
 * The stream consumer. For now it decodes each record's canonical envelope and logs what it
 * received (event ids and types, never personal data); aggregation comes with the read side.
 * Powertools' BatchProcessor reports undecodable records as batch item failures.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { logger } from '../adapters/observability';
import type { CanonicalEvent } from '../core/envelope';

const processor = new BatchProcessor(EventType.KinesisDataStreams);

const record = async (r: KinesisStreamRecord) => {
  const event = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as CanonicalEvent;
  logger.debug('event received', { eventId: event.eventId, type: event.type, seq: r.kinesis.sequenceNumber });
};

export const handler = async (event: KinesisStreamEvent, context: Context) => {
  logger.info('batch received', { records: event.Records.length });
  return processPartialResponse(event, record, processor, { context });
};
