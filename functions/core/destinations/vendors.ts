/**
 * Each destination type as its vendor documents it: how messages become requests (batch limits,
 * authentication, idempotency keys) and how an answer becomes one outcome per message (partial
 * success, retry hints, permanent refusals). Pure: the transport (functions/adapters/vendor-transport.ts)
 * sends what this builds and hands the answer back.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { DestinationType } from './definition';
import { httpOutcome, type ItemOutcome, type OutboundMessage, type VendorAnswer } from './delivery';

export interface HttpRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** One request and the messages it carries (in order). */
export interface Prepared {
  request: HttpRequest;
  messageIds: string[];
}

export interface Prepare {
  requests: Prepared[];
  /** Messages the vendor would refuse (or, like GA4, silently drop): dead before sending. */
  rejected: { messageId: string; reason: string }[];
}

export interface Vendor {
  /** Messages per request, the vendor's documented maximum. */
  readonly maxBatch: number;
  /** Request body bytes, the vendor's documented maximum (uncompressed). */
  readonly maxBytes: number;
  prepare(
    settings: Record<string, unknown>,
    credentials: Record<string, string>,
    messages: readonly OutboundMessage[],
    now: Date,
  ): Prepare;
  interpret(prepared: Prepared, answer: VendorAnswer, now: number): Map<string, ItemOutcome>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** E-mail-shaped ids lower-cased and trimmed, as ad and CRM tools normalise before hashing. */
export const normaliseId = (id: string): string => {
  const t = id.trim();
  return t.includes('@') ? t.toLowerCase() : t;
};
/** SHA-256 of the normalised id: how audience tools match people without receiving the id. */
export const hashedId = (id: string): string => sha256(normaliseId(id));

const sameOutcome = (p: Prepared, o: ItemOutcome) => new Map(p.messageIds.map((id) => [id, o]));

/** Split into requests of at most `max` messages and `maxBytes` of body, in order. */
export const chunk = <T>(
  items: readonly T[],
  max: number,
  maxBytes: number,
  size: (t: T) => number,
  overhead = 64,
): T[][] => {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = overhead;
  for (const item of items) {
    const n = size(item) + 1;
    if (current.length > 0 && (current.length >= max || bytes + n > maxBytes)) {
      out.push(current);
      current = [];
      bytes = overhead;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) out.push(current);
  return out;
};

/** The JSON a webhook receiver (and EventBridge's detail) gets for one message. */
export const messageJson = (m: OutboundMessage): Record<string, unknown> => ({
  id: m.messageId,
  kind: m.kind,
  at: m.at,
  ...(m.personKey !== undefined && { personKey: m.personKey }),
  ...(m.userId !== undefined && { userId: m.userId }),
  ...(m.anonymousId !== undefined && { anonymousId: m.anonymousId }),
  ...(m.event && {
    event: {
      eventId: m.event.eventId,
      type: m.event.type,
      ...(m.event.campaignId !== undefined && { campaignId: m.event.campaignId }),
      ...(m.event.channel !== undefined && { channel: m.event.channel }),
      deviceType: m.event.deviceType,
      data: m.event.data,
      properties: m.event.properties,
      eventTime: m.event.eventTime,
      receivedAt: m.event.receivedAt,
    },
  }),
  ...(m.segment !== undefined && {
    segment: m.segment,
    hashedIds: Object.fromEntries(
      [
        ['personKey', m.personKey],
        ['userId', m.userId],
        ['anonymousId', m.anonymousId],
      ]
        .filter((e): e is [string, string] => e[1] !== undefined)
        .map(([k, v]) => [k, hashedId(v)]),
    ),
  }),
  ...(m.alert && { alert: m.alert }),
});

/**
 * Webhook, signed per Standard Webhooks: `webhook-id` (the same for every retry of the same
 * messages), `webhook-timestamp`, `webhook-signature` (v1, HMAC-SHA256 of id.timestamp.body).
 * Body `{type: 'pulse.messages', timestamp, data: {messages: [...]}}`. 2xx delivers; 410 Gone is
 * the receiver asking to stop (rejected, and the breaker counts it as a refusal).
 */
const webhook: Vendor = {
  maxBatch: 100,
  maxBytes: 1_000_000,
  prepare(settings, credentials, messages, now) {
    const secret = credentials.signingSecret as string;
    const signer = new Webhook(secret);
    const bodies = messages.map((m) => ({ m, json: JSON.stringify(messageJson(m)) }));
    const requests = chunk(
      bodies,
      Number(settings.batchSize ?? 100),
      this.maxBytes,
      (b) => b.json.length,
    ).map((part): Prepared => {
      const ids = part.map((b) => b.m.messageId);
      const body = `{"type":"pulse.messages","timestamp":${JSON.stringify(now.toISOString())},"data":{"messages":[${part.map((b) => b.json).join(',')}]}}`;
      const msgId = `msg_${sha256(ids.join('\n')).slice(0, 32)}`;
      return {
        messageIds: ids,
        request: {
          url: settings.url as string,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': msgId,
            'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
            'webhook-signature': signer.sign(msgId, now, body),
          },
          body,
        },
      };
    });
    return { requests, rejected: [] };
  },
  interpret(prepared, answer, now) {
    return sameOutcome(prepared, httpOutcome(answer, now));
  },
};

/** Mixpanel's $insert_id: at most 36 characters of letters, digits and dashes. */
export const mixpanelInsertId = (messageId: string): string =>
  /^[A-Za-z0-9-]{1,36}$/.test(messageId) ? messageId : sha256(messageId).slice(0, 36);

const MIXPANEL_FUTURE_MS = 3_600_000;
const MIXPANEL_EPOCH_MIN = Date.UTC(1971, 0, 1);

/**
 * Mixpanel `/import` (strict=1, service account Basic auth): up to 2,000 events and 10 MB per
 * request, 1 MB per event; `$insert_id` makes retries safe (Mixpanel deduplicates on it). A 400 is a
 * partial success: `failed_records` names each refused event by `insert_id`, the rest landed.
 */
const mixpanel: Vendor = {
  maxBatch: 2000,
  maxBytes: 10_000_000,
  prepare(settings, credentials, messages, now) {
    const rejected: Prepare['rejected'] = [];
    const events: { id: string; json: string }[] = [];
    for (const m of messages) {
      const time = Date.parse(m.at);
      if (time > now.getTime() + MIXPANEL_FUTURE_MS || time < MIXPANEL_EPOCH_MIN) {
        rejected.push({ messageId: m.messageId, reason: 'time outside what Mixpanel accepts' });
        continue;
      }
      const json = JSON.stringify({
        event: m.kind === 'event' ? (m.event?.type ?? 'event') : m.kind,
        properties: {
          ...(m.event?.properties ?? {}),
          ...(m.event?.data ?? {}),
          time,
          distinct_id: m.userId ?? m.anonymousId ?? '',
          $insert_id: mixpanelInsertId(m.messageId),
          ...(m.event?.campaignId !== undefined && { campaign: m.event.campaignId }),
          ...(m.event?.channel !== undefined && { channel: m.event.channel }),
          ...(m.segment !== undefined && { segment: m.segment }),
          ...(m.alert && { ...m.alert }),
        },
      });
      if (json.length >= 1_000_000) rejected.push({ messageId: m.messageId, reason: 'event over 1 MB' });
      else events.push({ id: m.messageId, json });
    }
    const base = (settings.baseUrl as string | undefined) ?? 'https://api.mixpanel.com';
    const auth = Buffer.from(
      `${credentials.serviceAccountUser}:${credentials.serviceAccountSecret}`,
    ).toString('base64');
    const requests = chunk(
      events,
      Number(settings.batchSize ?? 2000),
      this.maxBytes,
      (e) => e.json.length,
    ).map(
      (part): Prepared => ({
        messageIds: part.map((e) => e.id),
        request: {
          url: `${base}/import?strict=1&project_id=${encodeURIComponent(String(settings.projectId))}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
          body: `[${part.map((e) => e.json).join(',')}]`,
        },
      }),
    );
    return { requests, rejected };
  },
  interpret(prepared, answer, now) {
    if ('status' in answer && answer.status === 400) {
      let failed: { insert_id?: string; message?: string }[] | undefined;
      try {
        failed = (JSON.parse(answer.body) as { failed_records?: typeof failed }).failed_records;
      } catch {
        failed = undefined;
      }
      if (Array.isArray(failed)) {
        const refused = new Map(failed.map((f) => [String(f.insert_id), String(f.message ?? 'refused')]));
        return new Map(
          prepared.messageIds.map((id): [string, ItemOutcome] => {
            const reason = refused.get(mixpanelInsertId(id));
            return [
              id,
              reason === undefined
                ? { kind: 'delivered' }
                : { kind: 'rejected', reason: `400 ${reason}`.slice(0, 200) },
            ];
          }),
        );
      }
    }
    // 413: the batch was too big for Mixpanel after all; retried (the next attempt batches anew).
    if ('status' in answer && answer.status === 413)
      return sameOutcome(prepared, { kind: 'retry', reason: '413 payload too large' });
    return sameOutcome(prepared, httpOutcome(answer, now));
  },
};

export const vendors: Partial<Record<DestinationType, Vendor>> = { webhook, mixpanel };

export const vendorFor = (type: DestinationType): Vendor => {
  const v = vendors[type];
  if (!v) throw new Error(`No vendor codec for destination type ${type}`);
  return v;
};
