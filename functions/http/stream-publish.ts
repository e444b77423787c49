/**
 * Putting canonical events on the stream from an HTTP handler: serialise, write, count, and
 * turn a stream that would not take them into 503 with Retry-After (the client keeps the
 * events and retries; their ids make the retry safe).
 */
import { eventStream } from '../../lib/stream';
import { kinesisClient, requireEnv } from '../adapters/aws';
import { KinesisWriter, StreamUnavailableError } from '../adapters/kinesis-writer';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import type { Accepted } from '../core/ingest';
import { Problem } from '../core/problem';

/** The function's writer to the event stream, made on first use (one per container). */
let writer: KinesisWriter | undefined;
const streamWriter = (): KinesisWriter => {
  writer ??= new KinesisWriter(kinesisClient(), requireEnv(eventStream.envVar), {
    onRetry: (entries) => metrics.addMetric('StreamRetries', MetricUnit.Count, entries),
  });
  return writer;
};

export const publishToStream = async (events: readonly Accepted[]): Promise<void> => {
  try {
    await streamWriter().putAll(
      events.map((e) => ({ partitionKey: e.event.personKey, data: Buffer.from(e.json) })),
    );
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
  // Nothing at INFO for an accepted request: the EventsAccepted metric counts them, and CloudWatch
  // bills log bytes per request (half the ingest log bill at 500 bytes a line: README, "What it
  // costs"). Event ids trace an event from the request to the stream (no personal data): at DEBUG.
  logger.debug('events accepted', {
    count: events.length,
    eventIds: events.slice(0, 100).map((e) => e.event.eventId),
  });
};
