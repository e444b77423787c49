/**
 * `POST /v1/{track,identify,page,screen,alias,group,batch}` and the short paths the SDKs call
 * (`/v1/t`, `/v1/b`…): Segment's HTTP Tracking API. Authenticate (Basic or the body's
 * `writeKey`), map each message (functions/core/segmentio), put the canonical events on the same
 * stream as /api/engagement, and answer as Segment does, `200 {"success": true}`, once Kinesis
 * has taken them. In a batch, rejected messages are listed by index and quarantined.
 */
import pLimit from 'p-limit';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricUnit, metrics } from '../adapters/observability';
import { QuarantineRepository } from '../adapters/quarantine-repository';
import type { DoorContext } from '../core/envelope';
import { type Accepted, distinctById, type Rejection } from '../core/ingest';
import { batchCountProblem, Problem, tooLarge } from '../core/problem';
import {
  ingestSegmentMessage,
  isNoOp,
  isSegmentRejection,
  type SegmentOutcome,
} from '../core/segmentio/ingest-message';
import { isPlainObject } from '../core/segmentio/message-fields';
import { SEGMENT_CALLS, SEGMENT_LIMITS, type SegmentType, segmentTimeOf } from '../core/segmentio/protocol';
import {
  personKeysOfMessage,
  quarantinePayload,
  quarantinePosition,
  rejectionReason,
} from '../core/segmentio/quarantine';
import { hasTraits } from '../core/traits';
import { ingestDoor } from '../http/door';
import { httpHandler } from '../http/handler';
import { publishToStream } from '../http/stream-publish';
import { countIgnoredTraits, traitDoor } from '../http/trait-context';
import type { HttpRequest, HttpResponse } from '../http/types';
import { contract, perCall } from './tracking.contract';

const db = documentClient();
const quarantine = new QuarantineRepository(db, requireEnv(tables.quarantine.envVar));
const door = ingestDoor('segment');
/** Quarantine writes in flight per request: a bad batch must not flood the table's capacity. */
const quarantineWrites = pLimit(8);

const SUCCESS = { success: true } as const;

const traits = traitDoor();
/** The trait declarations, loaded only when some message carries traits. */
const withTraits = async (ctx: DoorContext, messages: readonly unknown[]): Promise<DoorContext> =>
  messages.some((m) => isPlainObject(m) && hasTraits(m.traits))
    ? { ...ctx, traits: await traits.context() }
    : ctx;

const isConsentRefusal = (r: Rejection) => r.code === 'consent_required' || r.code === 'consent_invalid';

const countRejection = (r: Rejection) => {
  const single = metrics.singleMetric();
  single.addDimension('code', r.code);
  single.addMetric(
    isConsentRefusal(r) ? 'SegmentConsentRefused' : 'SegmentMessagesRejected',
    MetricUnit.Count,
    1,
  );
};

const asObject = (body: unknown, what: string): Record<string, unknown> => {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
    throw new Problem(400, 'validation_failed', `Body must be ${what}`, [
      { path: '', message: 'Expected object' },
    ]);
  return body as Record<string, unknown>;
};

/** As Segment's API answers a rejected batch entry: by index, with its messageId. */
const listed = (r: Rejection) => ({
  index: r.index,
  ...(r.eventId !== undefined && { messageId: r.eventId }),
  code: r.code,
  errors: r.errors,
});

const single = async (request: HttpRequest, type: SegmentType): Promise<HttpResponse> => {
  const message = asObject(request.body, 'a Segment message object');
  const result = ingestSegmentMessage(
    message,
    0,
    await withTraits(await door.context(request, 1), [message]),
    {
      type,
      prefix: '',
    },
  );
  if (!isNoOp(result)) await door.edge.recordViolations([result], request.receivedAt);
  if (isSegmentRejection(result)) {
    countRejection(result);
    if (result.code === 'payload_too_large') throw tooLarge('message', SEGMENT_LIMITS.messageBytes);
    if (isConsentRefusal(result))
      throw new Problem(403, result.code, result.errors[0]?.message, result.errors);
    throw new Problem(400, result.code, 'The message is invalid', result.errors);
  }
  if (isNoOp(result)) metrics.addMetric('SegmentNoOpMessages', MetricUnit.Count, 1);
  else {
    countIgnoredTraits(result.ignoredTraits ?? 0);
    const kept = door.edge.toPublish([result]);
    if (kept.length > 0) await publishToStream(kept);
  }
  return { status: 200, body: SUCCESS };
};

const batch = async (request: HttpRequest): Promise<HttpResponse> => {
  const body = asObject(request.body, '{"batch": [...]}');
  if (!Array.isArray(body.batch))
    throw new Problem(400, 'validation_failed', 'Body must be {"batch": [...]}', [
      { path: 'batch', message: 'Required: an array of messages' },
    ]);
  const countProblem = batchCountProblem(body.batch.length, SEGMENT_LIMITS.batchMessages, 'batch', 'message');
  if (countProblem) throw countProblem;
  // The batch's own sentAt and context are hints for its messages: one unreadable is ignored,
  // rather than refusing messages that are valid by themselves.
  const sentAt = segmentTimeOf(body.sentAt);
  const context =
    body.context && typeof body.context === 'object' && !Array.isArray(body.context)
      ? (body.context as Record<string, unknown>)
      : undefined;

  const messages = body.batch as unknown[];
  const ctx = await withTraits(await door.context(request, messages.length), messages);
  const outcomes: SegmentOutcome[] = messages.map((raw, index) =>
    ingestSegmentMessage(raw, index, ctx, {
      prefix: `batch.${index}.`,
      ...((sentAt || context) && { batch: { ...(sentAt && { sentAt }), ...(context && { context }) } }),
    }),
  );
  const accepted: Accepted[] = [];
  const rejected: Rejection[] = [];
  let noops = 0;
  for (const o of outcomes) {
    if (isSegmentRejection(o)) rejected.push(o);
    else if (isNoOp(o)) noops++;
    else accepted.push(o);
  }
  rejected.forEach(countRejection);
  await door.edge.recordViolations([...accepted, ...rejected], ctx.receivedAt);
  countIgnoredTraits(
    accepted.reduce((n, a) => n + ((a as { ignoredTraits?: number }).ignoredTraits ?? 0), 0),
  );
  if (noops > 0) metrics.addMetric('SegmentNoOpMessages', MetricUnit.Count, noops);

  // Kept before anything is published: if the quarantine fails, the client retries the whole
  // batch, and the entries are keyed by message so the retry does not duplicate them.
  const kept = rejected.filter((r) => !isConsentRefusal(r));
  const origin = `segment:${request.route.path.slice('/v1/'.length)}`;
  await Promise.all(
    kept.map((r) =>
      quarantineWrites(() => {
        const raw = messages[r.index];
        return quarantine.put({
          personKeys: personKeysOfMessage(raw),
          reason: rejectionReason(r),
          origin,
          position: quarantinePosition(raw, ctx.sourceId),
          payload: quarantinePayload(raw),
          receivedAt: ctx.receivedAtIso as string,
          sourceId: ctx.sourceId,
        });
      }),
    ),
  );
  if (kept.length > 0) metrics.addMetric('SegmentMessagesQuarantined', MetricUnit.Count, kept.length);

  if (accepted.length === 0 && noops === 0)
    throw new Problem(
      400,
      'validation_failed',
      'No message in the batch is valid',
      rejected.flatMap((r) => r.errors),
      { members: { accepted: 0, rejected: rejected.map(listed) } },
    );
  const published = door.edge.toPublish(distinctById(accepted));
  if (published.length > 0) await publishToStream(published);
  // 200 even with rejections: the SDKs drop a whole batch on a 4xx.
  return rejected.length === 0
    ? { status: 200, body: SUCCESS }
    : {
        status: 200,
        body: { ...SUCCESS, accepted: accepted.length + noops, rejected: rejected.map(listed) },
      };
};

export const handler = httpHandler({
  module: 'segmentio/tracking',
  contract,
  authenticators: { writeKey: door.writeKeys },
  body: { maxBytes: SEGMENT_LIMITS.requestBytes, anyContentType: true },
  // One operation per call path: each serves the message type its call takes.
  handlers: perCall((call) => {
    const type = SEGMENT_CALLS[call];
    return (request: HttpRequest) => (type === 'batch' ? batch(request) : single(request, type));
  }),
});
