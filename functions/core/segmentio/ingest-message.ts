/**
 * One Segment message through the door: size, type and schema checks, the Spec mapping, then the
 * same admission as the /api door (personal data in properties, time window, consent), with
 * errors named by the message's own fields. Pure: the handler adds auth, the stream write and
 * the quarantine.
 */

import type * as z from 'zod/mini';
import type { DoorContext } from '../envelope';
import { type Accepted, admitEvent, prefixed, type Rejection } from '../ingest';
import { jsonHazard } from '../json';
import type { FieldError, ProblemCode } from '../problem';
import { checkTraits, hasTraits } from '../traits';
import { parseWith } from '../zod';
import { mapSegmentMessage } from './mapping';
import { at, isPlainObject, type Props } from './message-fields';
import {
  SEGMENT_LIMITS,
  SEGMENT_TYPES,
  type SegmentMessage,
  type SegmentType,
  segmentMessageSchemas,
} from './protocol';

/** Accepted but not put on the stream (see Mapped.noop). */
export interface NoOp {
  noop: true;
  index: number;
  eventId: string;
}
/** Accepted, with how many undeclared traits an identify carried (dropped and counted). */
export type SegmentOutcome = (Accepted & { ignoredTraits?: number }) | Rejection | NoOp;

export const isNoOp = (o: SegmentOutcome): o is NoOp => 'noop' in o;
export const isSegmentRejection = (o: SegmentOutcome): o is Rejection => 'code' in o && 'index' in o;

export interface SegmentMessageOptions {
  /** The route's type for single-message routes; undefined in a batch (each message says). */
  type?: SegmentType;
  /** Error paths' prefix: `batch.3.` in a batch. */
  prefix: string;
  /** The batch's `sentAt` and `context` (merged under each message's own). */
  batch?: { sentAt?: string; context?: Props };
}

/** Byte size of a message as sent, counted only when it could be near the limit. */
const overLimit = (raw: unknown): boolean => {
  // Serialised only once its depth is known to be bounded: 5,000 levels would overflow the stack.
  const json = JSON.stringify(raw) ?? '';
  return (
    json.length > SEGMENT_LIMITS.messageBytes / 3 && Buffer.byteLength(json) > SEGMENT_LIMITS.messageBytes
  );
};

/**
 * One Segment message → an accepted canonical event, a no-op, or a rejection naming its fields.
 * The same checks as the /api door, in the same order: schema, personal data in properties,
 * time window, consent.
 */
export const ingestSegmentMessage = (
  raw: unknown,
  index: number,
  ctx: DoorContext,
  options: SegmentMessageOptions,
): SegmentOutcome => {
  const messageId = isPlainObject(raw) && typeof raw.messageId === 'string' ? raw.messageId : undefined;
  const reject = (code: ProblemCode, errors: FieldError[]): Rejection => ({
    index,
    ...(messageId !== undefined && { eventId: messageId }),
    code,
    errors: prefixed(errors, options.prefix),
  });
  if (!isPlainObject(raw))
    return reject('validation_failed', [{ path: '', message: 'Expected a message object' }]);
  const tooDeep = jsonHazard(raw, {
    maxDepth: SEGMENT_LIMITS.messageDepth,
    maxKeys: Number.MAX_SAFE_INTEGER,
    maxStringLength: Number.MAX_SAFE_INTEGER,
  });
  if (tooDeep)
    return reject('validation_failed', [{ path: tooDeep.path.join('.'), message: tooDeep.message }]);
  if (overLimit(raw))
    return reject('payload_too_large', [
      { path: '', message: `Message exceeds ${SEGMENT_LIMITS.messageBytes} bytes` },
    ]);

  const type = options.type ?? raw.type;
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type))
    return reject('validation_failed', [
      { path: 'type', message: `Expected one of ${SEGMENT_TYPES.join(', ')}` },
    ]);
  if (raw.type != null && raw.type !== type)
    return reject('validation_failed', [{ path: 'type', message: `Expected ${type} on this route` }]);

  const batchContext = options.batch?.context;
  const message = {
    ...raw,
    type,
    ...(batchContext &&
      (raw.context == null || isPlainObject(raw.context)) && {
        context: { ...batchContext, ...(raw.context as Props | null | undefined) },
      }),
  };
  const parsed = parseWith(
    segmentMessageSchemas[type as SegmentType] as z.ZodMiniType<SegmentMessage>,
    message,
  );
  if (!parsed.ok) return reject('validation_failed', parsed.errors);

  const mapped = mapSegmentMessage(parsed.value, type as SegmentType, ctx, options.batch?.sentAt);
  if (!mapped.ok) return reject('validation_failed', mapped.errors);
  const { input, noop, timeField } = mapped.mapped;

  const token = at(parsed.value.context, 'consent', 'token');
  const admitted = admitEvent(input, ctx, typeof token === 'string' ? token : undefined);
  if (!admitted.ok) {
    // Name the fields as the Segment message has them.
    if (admitted.stage === 'time')
      return reject(
        admitted.code,
        admitted.errors.map((e) => (e.path === 'timestamp' && timeField ? { ...e, path: timeField } : e)),
      );
    if (admitted.stage === 'consent')
      return reject(
        admitted.code,
        admitted.errors.map((e) => ({
          path: 'context.consent.token',
          message:
            admitted.code === 'consent_required'
              ? 'A consent token granting analytics is required (context.consent.token or X-Consent-Token)'
              : e.message,
        })),
      );
    const rejection = reject(admitted.code, admitted.errors);
    return admitted.violations ? { ...rejection, violations: admitted.violations } : rejection;
  }
  const canonical = admitted;
  if (noop) return { noop: true, index, eventId: canonical.event.eventId };
  let event = canonical.event;
  let ignoredTraits: number | undefined;
  if (type === 'identify' && hasTraits(parsed.value.traits)) {
    // Declared traits ride on the identify event; a wrong type or a refused trait rejects it.
    // Without declarations loaded, none are declared: every trait is dropped.
    const checked = checkTraits(parsed.value.traits, ctx.traits ?? { declarations: new Map() });
    if (!checked.ok) return reject('validation_failed', checked.errors);
    if (Object.keys(checked.traits).length > 0)
      event = { ...event, data: { ...event.data, traits: checked.traits } };
    ignoredTraits = checked.ignored.length;
  }
  return {
    event,
    json: JSON.stringify(event),
    ...(canonical.violations ? { violations: canonical.violations } : {}),
    ...(ignoredTraits !== undefined ? { ignoredTraits } : {}),
  };
};
