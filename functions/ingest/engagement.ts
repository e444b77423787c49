/**
 * `POST /api/engagement/{type}` and `POST /api/engagement/events`: authenticate the source,
 * validate and enrich (functions/core/ingest), put the canonical events on the stream, and
 * answer 202 / 207 / 400 only once Kinesis has taken every accepted event.
 */
import { DEFAULTS, ENV } from '../../lib/config';
import { eventStream } from '../../lib/stream';
import { tables } from '../../lib/tables';
import { documentClient, kinesisClient, requireEnv } from '../adapters/aws';
import { KinesisWriter } from '../adapters/kinesis-writer';
import { MetricUnit, metrics } from '../adapters/observability';
import { RateLimiter } from '../adapters/rate-limiter';
import { signingKey } from '../adapters/signing-key';
import { SourcesRepository } from '../adapters/sources-repository';
import type { DoorContext } from '../core/envelope';
import { isEventType, LIMITS } from '../core/events';
import { distinctById, type IngestOutcome, ingestBatch, ingestOne, isRejection } from '../core/ingest';
import type { PiiMode } from '../core/pii';
import { Problem, tooLarge } from '../core/problem';
import { httpHandler } from '../http/handler';
import { publishToStream } from '../http/stream-publish';
import type { HttpRequest, HttpResponse } from '../http/types';
import { cachedWriteKeys } from '../http/write-keys';

const sources = new SourcesRepository(documentClient(), requireEnv(tables.sources.envVar));
const writer = new KinesisWriter(kinesisClient(), requireEnv(eventStream.envVar), {
  onRetry: (entries) => metrics.addMetric('StreamRetries', MetricUnit.Count, entries),
});
const limiter = new RateLimiter(documentClient(), requireEnv(tables.limits.envVar));
const horizonDays = Number(process.env[ENV.eventHorizonDays] ?? DEFAULTS.eventHorizonDays);
const consentRequired = (process.env[ENV.consentMode] ?? DEFAULTS.consentMode) === 'required';
const piiMode = (process.env[ENV.piiMode] ?? DEFAULTS.piiMode) as PiiMode;

/** Authenticated source, its rate limit taken for `count` events, and the door's context. */
const doorContext = async (request: HttpRequest, count: number): Promise<DoorContext> => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const { source } = request.principal;
  const rate = await limiter.take(source.sourceId, source.rateLimit, count);
  if (!rate.ok)
    throw new Problem(
      429,
      'rate_limited',
      `Source ${source.sourceId} is limited to ${source.rateLimit} events per second`,
      undefined,
      {
        headers: { 'retry-after': String(rate.retryAfterSeconds) },
      },
    );
  const key = consentRequired || piiMode === 'hash' ? await signingKey() : undefined;
  const headerToken = request.event.headers?.['x-consent-token'];
  return {
    sourceId: source.sourceId,
    sourceChannel: source.channel,
    receivedAt: request.receivedAt,
    receivedAtIso: request.receivedAt.toISOString(),
    horizonDays,
    door: 'api',
    ...(consentRequired && key && { consent: { key, ...(headerToken && { headerToken }) } }),
    pii: { mode: piiMode, ...(key && { key }) },
  };
};

const countRejections = (outcome: IngestOutcome) => {
  for (const r of outcome.rejected) {
    const single = metrics.singleMetric();
    single.addDimension('code', r.code);
    single.addMetric('EventsRejected', MetricUnit.Count, 1);
  }
};

const trackOne = async (request: HttpRequest): Promise<HttpResponse> => {
  const type = request.event.pathParameters?.type ?? '';
  if (!isEventType(type))
    throw new Problem(404, 'not_found', `Unknown event type "${type}"`, [
      { path: 'type', message: 'Expected click, view, share, video-play, conversion or custom' },
    ]);
  if (
    request.body === undefined ||
    request.body === null ||
    typeof request.body !== 'object' ||
    Array.isArray(request.body)
  )
    throw new Problem(400, 'validation_failed', 'Body must be a JSON object', [
      { path: '', message: 'Expected object' },
    ]);
  const result = ingestOne(request.body, 0, await doorContext(request, 1), { pathType: type, prefix: '' });
  if (isRejection(result)) {
    countRejections({ accepted: [], rejected: [result] });
    if (result.code === 'payload_too_large') throw tooLarge('event', LIMITS.eventBytes);
    if (result.code === 'consent_required' || result.code === 'consent_invalid')
      throw new Problem(403, result.code, result.errors[0]?.message, result.errors);
    throw new Problem(400, result.code, 'The event is invalid', result.errors);
  }
  await publishToStream(writer, [result]);
  return { status: 202, body: { accepted: 1, eventIds: [result.event.eventId] } };
};

const trackBatch = async (request: HttpRequest): Promise<HttpResponse> => {
  const body = request.body as { events?: unknown } | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.events))
    throw new Problem(400, 'validation_failed', 'Body must be {"events": [...]}', [
      { path: 'events', message: 'Required: an array of 1..500 events' },
    ]);
  if (body.events.length > LIMITS.batchEvents)
    throw new Problem(
      413,
      'payload_too_large',
      `A batch holds at most ${LIMITS.batchEvents} events`,
      undefined,
      {
        members: { limit: 'batch', maxEvents: LIMITS.batchEvents },
      },
    );
  if (body.events.length === 0)
    throw new Problem(400, 'validation_failed', 'The batch is empty', [
      { path: 'events', message: 'At least 1 event' },
    ]);

  const outcome = ingestBatch(body.events, await doorContext(request, body.events.length));
  countRejections(outcome);
  if (outcome.accepted.length === 0)
    throw new Problem(
      400,
      'validation_failed',
      'No event in the batch is valid',
      outcome.rejected.flatMap((r) => r.errors),
      {
        members: { accepted: 0, rejected: outcome.rejected },
      },
    );

  await publishToStream(writer, distinctById(outcome.accepted));
  const eventIds = outcome.accepted.map((e) => e.event.eventId);
  return outcome.rejected.length === 0
    ? { status: 202, body: { accepted: eventIds.length, eventIds } }
    : { status: 207, body: { accepted: eventIds.length, eventIds, rejected: outcome.rejected } };
};

export const handler = httpHandler({
  module: 'ingest/engagement',
  authenticators: { writeKey: cachedWriteKeys((key) => sources.findByWriteKey(key)) },
  body: { maxBytes: LIMITS.bodyBytes },
  handle: (request) => (request.route.id === 'trackBatch' ? trackBatch(request) : trackOne(request)),
});
