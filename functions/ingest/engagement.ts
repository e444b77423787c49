/**
 * `POST /api/engagement/{type}` and `POST /api/engagement/events`: authenticate the source,
 * validate and enrich (functions/core/ingest), put the canonical events on the stream, and
 * answer 202 / 207 / 400 only once Kinesis has taken every accepted event.
 */
import { MetricUnit, metrics } from '../adapters/observability';
import { LIMITS } from '../core/events';
import { distinctById, type IngestOutcome, ingestBatch, ingestOne, isRejection } from '../core/ingest';
import { batchCountProblem, Problem, tooLarge } from '../core/problem';
import { ingestDoor } from '../http/door';
import { httpHandler } from '../http/handler';
import type { Handlers } from '../http/operations';
import { publishToStream } from '../http/stream-publish';
import { contract } from './engagement.contract';

const door = ingestDoor('api');

const countRejections = (outcome: IngestOutcome) => {
  for (const r of outcome.rejected) {
    const single = metrics.singleMetric();
    single.addDimension('code', r.code);
    single.addMetric('EventsRejected', MetricUnit.Count, 1);
  }
};

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const trackOne: Handler<'trackOne'> = async (request, { params: { type } }) => {
  if (
    request.body === undefined ||
    request.body === null ||
    typeof request.body !== 'object' ||
    Array.isArray(request.body)
  )
    throw new Problem(400, 'validation_failed', 'Body must be a JSON object', [
      { path: '', message: 'Expected object' },
    ]);
  const result = ingestOne(request.body, 0, await door.context(request, 1), { pathType: type, prefix: '' });
  await door.edge.recordViolations([result], request.receivedAt);
  if (isRejection(result)) {
    countRejections({ accepted: [], rejected: [result] });
    if (result.code === 'payload_too_large') throw tooLarge('event', LIMITS.eventBytes);
    if (result.code === 'consent_required' || result.code === 'consent_invalid')
      throw new Problem(403, result.code, result.errors[0]?.message, result.errors);
    throw new Problem(400, result.code, 'The event is invalid', result.errors);
  }
  const kept = door.edge.toPublish([result]);
  if (kept.length > 0) await publishToStream(kept);
  return { status: 202, body: { accepted: 1, eventIds: [result.event.eventId] } };
};

const trackBatch: Handler<'trackBatch'> = async (request) => {
  const body = request.body as { events?: unknown } | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.events))
    throw new Problem(400, 'validation_failed', 'Body must be {"events": [...]}', [
      { path: 'events', message: 'Required: an array of 1..500 events' },
    ]);
  const countProblem = batchCountProblem(body.events.length, LIMITS.batchEvents, 'events', 'event');
  if (countProblem) throw countProblem;

  const outcome = ingestBatch(body.events, await door.context(request, body.events.length));
  countRejections(outcome);
  await door.edge.recordViolations([...outcome.accepted, ...outcome.rejected], request.receivedAt);
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

  const kept = door.edge.toPublish(distinctById(outcome.accepted));
  if (kept.length > 0) await publishToStream(kept);
  const eventIds = outcome.accepted.map((e) => e.event.eventId);
  return outcome.rejected.length === 0
    ? { status: 202, body: { accepted: eventIds.length, eventIds } }
    : { status: 207, body: { accepted: eventIds.length, eventIds, rejected: outcome.rejected } };
};

export const handler = httpHandler({
  module: 'ingest/engagement',
  contract,
  authenticators: { writeKey: door.writeKeys },
  body: { maxBytes: LIMITS.bodyBytes },
  handlers: { trackOne, trackBatch },
});
