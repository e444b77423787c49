/**
 * Replay of the quarantine, one entry at a time: a quarantined record checked again against
 * today's contract and tracking plans, and, when it now passes, the event to put back on the
 * stream — with its original event id, so the consumer's dedup makes a replay safe to repeat.
 * Pure: the handler scans the entries and publishes.
 *
 * - `stream:<shard>` entries hold an envelope the consumer could not decode: decoded again
 *   (`decodeCanonical`), then a custom event's properties against its plan.
 * - `segment:<route>` entries hold a refused Segment message: the whole door again
 *   (`ingestSegmentMessage`), under its source and original receipt time. The consent token was
 *   never kept, so the door does not judge it: the consumer judges stored consent for every
 *   event anyway.
 */
import { type DoorContext, decodeCanonical } from '../envelope';
import { type Accepted, accepted } from '../ingest';
import { ingestSegmentMessage, isNoOp, isSegmentRejection } from '../segmentio/ingest-message';
import { rejectionReason } from '../segmentio/quarantine';

/** A quarantine entry as the replay reads it (never its ids: the payload names them). */
export interface QuarantineEntry {
  origin: string;
  position: string;
  reason: string;
  payload: string;
  receivedAt: string;
  sourceId?: string;
  truncated?: boolean;
}

export type ReplayVerdict =
  | { ok: true; accepted: Accepted }
  | { ok: true; noop: true }
  | { ok: false; reason: string };

/** What the door context of a replay shares across entries (each entry brings source and time). */
export type ReplayContext = Omit<
  DoorContext,
  'sourceId' | 'receivedAt' | 'receivedAtIso' | 'door' | 'consent'
>;

const fromStream = (entry: QuarantineEntry, ctx: ReplayContext): ReplayVerdict => {
  const decoded = decodeCanonical(Buffer.from(entry.payload, 'base64').toString('utf8'));
  if (!decoded.ok) return { ok: false, reason: decoded.reason };
  const event = decoded.event;
  const plans = ctx.edge?.plans;
  if (plans && event.type === 'custom' && typeof event.data.name === 'string') {
    const outcome = plans.check(event.data.name, event.properties);
    if (outcome.kind === 'block')
      return { ok: false, reason: `plan: ${outcome.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` };
    if (outcome.kind === 'omit') event.properties = outcome.properties;
  }
  return { ok: true, accepted: accepted(event) };
};

const fromSegment = (entry: QuarantineEntry, ctx: ReplayContext): ReplayVerdict => {
  if (entry.sourceId === undefined)
    return { ok: false, reason: 'no source recorded (quarantined before replay existed)' };
  let raw: unknown;
  try {
    raw = JSON.parse(entry.payload);
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const receivedAt = new Date(entry.receivedAt);
  const outcome = ingestSegmentMessage(
    raw,
    0,
    { ...ctx, sourceId: entry.sourceId, receivedAt, receivedAtIso: entry.receivedAt, door: 'segment' },
    { prefix: '' },
  );
  if (isSegmentRejection(outcome)) return { ok: false, reason: rejectionReason(outcome) };
  if (isNoOp(outcome)) return { ok: true, noop: true };
  return { ok: true, accepted: outcome };
};

/** One quarantined entry, checked again. */
export const replayEntry = (entry: QuarantineEntry, ctx: ReplayContext): ReplayVerdict => {
  if (entry.truncated) return { ok: false, reason: 'payload was cut when quarantined (too large)' };
  if (entry.origin.startsWith('stream:')) return fromStream(entry, ctx);
  if (entry.origin.startsWith('segment:')) return fromSegment(entry, ctx);
  return { ok: false, reason: `not replayable: origin ${entry.origin}` };
};
