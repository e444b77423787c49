/**
 * The `eventbridge` destination: PutEvents to an EventBridge event bus, as the EventBridge API
 * Reference documents it. Pure: the transport (functions/adapters/eventbridge-transport.ts) makes
 * the call with the AWS SDK and hands back the answer in the shape the other vendors' answers take
 * (status, headers, body — the PutEvents JSON response, or the JSON protocol's error body).
 *
 * - **Entries**: at most 10 per request, and their total size under 256 KB, counted the way
 *   EventBridge counts it ("Calculating PutEvents event entry size"): 14 bytes for `Time`, the UTF-8
 *   bytes of `Source`, `DetailType`, `Detail` and each of `Resources` — not the request's JSON.
 *   An entry that alone reaches the limit is refused before sending (EventBridge would refuse it).
 * - **Entry**: `Source` (settings.source, default `pulse`), `DetailType` per message kind
 *   (DETAIL_TYPES), `Detail` = the webhook's message JSON (`id` is the message id), `EventBusName`
 *   (a name or an ARN), `Time` = when it happened.
 * - **Partial failure**: the answer is 200 with `FailedEntryCount` and one result per entry, in
 *   request order; a failed one carries `ErrorCode` and `ErrorMessage`. The API Reference
 *   (PutEventsResultEntry) lists `InternalFailure` and `ThrottlingException` as retryable, and
 *   `AccessDeniedException`, `InvalidAccountIdException`, `InvalidArgument`, `MalformedDetail`,
 *   `RedactionFailure`, `NotAuthorizedForSourceException`, `NotAuthorizedForDetailTypeException`
 *   as not: those are dead at once. An unknown code is retried (the outbox gives up after its
 *   retry span anyway, and a new transient code should not lose events).
 * - **Whole-request errors** (the JSON protocol's `__type`): throttling and the server's own faults
 *   (`InternalException`, `InternalFailure`, `ServiceUnavailable`, any 5xx), expired credentials or
 *   signatures, timeouts and network failures are retried; any other 4xx (`AccessDeniedException`
 *   — the bus is not in the stack's grant or a cross-account bus's policy refuses us —,
 *   `ResourceNotFoundException`, `ValidationException`, …) is permanent.
 * - **Throttling** is reported with a `429` reason: the delivery rules' sign of a vendor pacing us
 *   (functions/core/destinations/delivery.ts breakerSignal), whatever HTTP status EventBridge used (400).
 * - **No deduplication**: EventBridge assigns every entry a new event id; a retried or redelivered
 *   message reaches the bus again. `detail.id` is the message id, for rules' targets to deduplicate.
 */
import type { MessageKind } from './definition';
import { allIds, type Deletion } from './deletion';
import type { ItemOutcome, OutboundMessage, VendorAnswer } from './delivery';
import { shortAnswer } from './delivery';
import type { Prepare, Prepared, Vendor } from './vendors';

/** One PutEvents entry as Pulse sends it (`Time` as an ISO string; the transport makes it a Date). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time: string;
  Resources?: string[];
}

/** A prepared PutEvents call: what a vendor request is for the `eventbridge` type. */
export interface PutEventsCall {
  api: 'eventbridge:PutEvents';
  entries: PutEventsEntry[];
}

export const isPutEventsCall = (request: object): request is PutEventsCall =>
  (request as Partial<PutEventsCall>).api === 'eventbridge:PutEvents';

/** PutEvents' documented limits: entries per request, and the total entry size (must stay below). */
export const PUT_EVENTS_LIMITS = { entries: 10, bytes: 256 * 1024 } as const;

/** What a rule matches on (`"detail-type": ["Pulse Event"]`), per message kind. */
export const DETAIL_TYPES: Readonly<Record<MessageKind, string>> = {
  event: 'Pulse Event',
  'segment.entered': 'Pulse Segment Entered',
  'segment.left': 'Pulse Segment Left',
  alert: 'Pulse Alert',
};

export const DEFAULT_SOURCE = 'pulse';

/** The documented per-entry failures worth another try; every other documented code is permanent. */
const RETRYABLE_ENTRY_CODES = new Set(['InternalFailure', 'ThrottlingException']);
const PERMANENT_ENTRY_CODES = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);
/** Whole-request errors worth another try besides any 5xx (common errors of the AWS JSON APIs). */
const RETRYABLE_REQUEST_CODES = new Set([
  'ThrottlingException',
  'InternalException',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestExpired',
  'ExpiredTokenException',
  'RequestTimeout',
]);

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** An entry's size as EventBridge computes it (docs: "Calculating PutEvents event entry size"). */
export const entrySize = (e: Omit<PutEventsEntry, 'Time'> & { Time?: string }): number =>
  (e.Time !== undefined ? 14 : 0) +
  utf8(e.Source) +
  utf8(e.DetailType) +
  utf8(e.Detail) +
  (e.Resources ?? []).reduce((n, r) => n + utf8(r), 0);

/** The entry for one message. `detail` is the message's JSON (functions/core/destinations/vendors.ts messageJson). */
export const putEventsEntry = (
  m: OutboundMessage,
  detail: Record<string, unknown>,
  settings: Record<string, unknown>,
): PutEventsEntry => ({
  Source: (settings.source as string | undefined) ?? DEFAULT_SOURCE,
  DetailType: DETAIL_TYPES[m.kind],
  Detail: JSON.stringify(detail),
  EventBusName: settings.eventBusName as string,
  Time: m.at,
});

/** Requests of at most `max` entries whose sizes sum below the limit, in order. */
export const batchEntries = <T extends { size: number }>(items: readonly T[], max: number): T[][] => {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= max || bytes + item.size >= PUT_EVENTS_LIMITS.bytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) out.push(current);
  return out;
};

/** `Foo` out of the JSON protocol's `__type` (`com.amazonaws.events#Foo` or `Foo`). */
const errorCode = (type: unknown): string =>
  String(type ?? '')
    .split('#')
    .pop() ?? '';

const parse = (body: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const throttled = (code: string, message: string): ItemOutcome => ({
  kind: 'retry',
  reason: `429 ${code}: ${message}`.slice(0, 200),
});

/** One failed entry's outcome, by its documented ErrorCode. */
export const entryOutcome = (code: string, message: string): ItemOutcome => {
  if (code === 'ThrottlingException') return throttled(code, message);
  const reason = `${code}: ${message}`.slice(0, 200);
  if (RETRYABLE_ENTRY_CODES.has(code)) return { kind: 'retry', reason };
  if (PERMANENT_ENTRY_CODES.has(code)) return { kind: 'rejected', reason };
  return { kind: 'retry', reason };
};

/** A whole request's outcome from an error answer (any status but 200). */
export const requestOutcome = (answer: VendorAnswer): ItemOutcome => {
  if ('failure' in answer) return { kind: 'retry', reason: shortAnswer(answer) };
  const body = parse(answer.body);
  const code = errorCode(body?.__type ?? body?.code);
  const message = String(body?.message ?? body?.Message ?? '');
  if (code === 'ThrottlingException' || answer.status === 429) return throttled(code || 'Throttled', message);
  const reason = `${answer.status} ${code}: ${message}`.slice(0, 200);
  if (answer.status >= 500 || RETRYABLE_REQUEST_CODES.has(code)) return { kind: 'retry', reason };
  return { kind: 'rejected', reason };
};

/** The outcome of each message of a request from PutEvents' answer. */
export const interpretPutEvents = (
  prepared: Prepared<PutEventsCall>,
  answer: VendorAnswer,
): Map<string, ItemOutcome> => {
  const all = (o: ItemOutcome) => new Map(prepared.messageIds.map((id) => [id, o]));
  if ('failure' in answer || answer.status !== 200) return all(requestOutcome(answer));
  const results = parse(answer.body)?.Entries;
  // One result per entry, in order, is the contract; without it nothing says what landed: retried
  // (EventBridge does not deduplicate, so a retry may deliver some twice — never none).
  if (!Array.isArray(results) || results.length !== prepared.messageIds.length)
    return all({ kind: 'retry', reason: `200 without one result per entry: ${answer.body}`.slice(0, 200) });
  return new Map(
    prepared.messageIds.map((id, i): [string, ItemOutcome] => {
      const r = (results[i] ?? {}) as { ErrorCode?: string; ErrorMessage?: string };
      return [
        id,
        r.ErrorCode ? entryOutcome(r.ErrorCode, String(r.ErrorMessage ?? '')) : { kind: 'delivered' },
      ];
    }),
  );
};

/**
 * The codec. `detailOf` is the message JSON webhooks receive (passed in by vendors.ts, which owns
 * it), so a rule's target sees the same document a webhook would.
 */
export const eventBridgeVendor = (
  detailOf: (m: OutboundMessage) => Record<string, unknown>,
): Vendor<PutEventsCall> => ({
  maxBatch: PUT_EVENTS_LIMITS.entries,
  maxBytes: PUT_EVENTS_LIMITS.bytes,
  prepare(settings, _credentials, messages): Prepare<PutEventsCall> {
    const rejected: Prepare<PutEventsCall>['rejected'] = [];
    const sized: { id: string; entry: PutEventsEntry; size: number }[] = [];
    for (const m of messages) {
      const entry = putEventsEntry(m, detailOf(m), settings);
      const size = entrySize(entry);
      if (size >= PUT_EVENTS_LIMITS.bytes)
        rejected.push({
          messageId: m.messageId,
          reason: `entry of ${size} bytes: EventBridge takes under 256 KB`,
        });
      else sized.push({ id: m.messageId, entry, size });
    }
    const max = Math.min(PUT_EVENTS_LIMITS.entries, Number(settings.batchSize ?? PUT_EVENTS_LIMITS.entries));
    const requests = batchEntries(sized, max).map(
      (part): Prepared<PutEventsCall> => ({
        messageIds: part.map((p) => p.id),
        request: { api: 'eventbridge:PutEvents', entries: part.map((p) => p.entry) },
      }),
    );
    return { requests, rejected };
  },
  interpret(prepared, answer) {
    return interpretPutEvents(prepared, answer);
  },
});

/** The detail-type of an erasure forwarded to the bus (a rule routes it to whatever must forget). */
export const ERASURE_DETAIL_TYPE = 'Pulse Person Erased';

/**
 * Erasure forwarded to the bus: one `Pulse Person Erased` event naming the person's ids, for the
 * rules that copy Pulse's events elsewhere (a data lake, a CRM flow) to act on. Like every
 * deletion, sending it again is harmless: `detail.erasureId` is the same each time.
 */
export const eventBridgeDeletion: Deletion = {
  plan(settings, _credentials, person, now) {
    const entry: PutEventsEntry = {
      Source: (settings.source as string | undefined) ?? DEFAULT_SOURCE,
      DetailType: ERASURE_DETAIL_TYPE,
      Detail: JSON.stringify({
        erasureId: person.erasureId,
        erasedAt: person.at,
        personKey: person.personKey,
        ids: allIds(person),
      }),
      EventBusName: settings.eventBusName as string,
      Time: now.toISOString(),
    };
    return { requests: [{ api: 'eventbridge:PutEvents', entries: [entry] }] };
  },
  interpret(answer) {
    const only: Prepared<PutEventsCall> = {
      messageIds: ['erasure'],
      request: { api: 'eventbridge:PutEvents', entries: [] },
    };
    return interpretPutEvents(only, answer).get('erasure') as ItemOutcome;
  },
};

/**
 * Whether a destination's bus is one the stack grants PutEvents on (ARNs, ENV.eventBusArns): an ARN
 * must be listed; a name means the bus of that name in the function's own account and region.
 */
export const busGranted = (eventBusName: string, grantedArns: readonly string[], region: string): boolean =>
  eventBusName.startsWith('arn:')
    ? grantedArns.includes(eventBusName)
    : grantedArns.some((arn) => arn.split(':')[3] === region && arn.endsWith(`:event-bus/${eventBusName}`));
