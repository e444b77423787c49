/**
 * Putting canonical events on the stream from an HTTP handler: serialise, write, count, and
 * turn a stream that would not take them into 503 with Retry-After (the client keeps the
 * events and retries; their ids make the retry safe).
 */
import type { KinesisWriter } from '../adapters/kinesis-writer';
import { StreamUnavailableError } from '../adapters/kinesis-writer';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import type { Accepted } from '../core/ingest';
import { Problem } from '../core/problem';

export const publishToStream = async (writer: KinesisWriter, events: readonly Accepted[]): Promise<void> => {
  try {
    await writer.putAll(events.map((e) => ({ partitionKey: e.event.personKey, data: Buffer.from(e.json) })));
  } catch (error) {
    if (!(error instanceof StreamUnavailableError)) throw error;
    metrics.addMetric('StreamWriteFailures', MetricUnit.Count, error.failed);
    logger.warn('stream did not take the events', { failed: error.failed, codes: error.errorCodes });
    throw new Problem(
      503,
      'stream_unavailable',
      'The event stream is busy; retry later. No event of this request was acknowledged.',
      undefined,
      {
        headers: { 'retry-after': String(error.retryAfterSeconds) },
        members: { retryAfterSeconds: error.retryAfterSeconds },
      },
    );
  }
  metrics.addMetric('EventsAccepted', MetricUnit.Count, events.length);
  // Event ids trace an event from the request to the stream; they carry no personal data.
  logger.info('events accepted', {
    count: events.length,
    eventIds: events.slice(0, 100).map((e) => e.event.eventId),
  });
};
