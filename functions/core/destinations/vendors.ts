/**
 * Each destination type as its vendor documents it: how messages become requests (batch limits,
 * authentication, idempotency keys) and how an answer becomes one outcome per message (partial
 * success, retry hints, permanent refusals). Pure: the transport (functions/adapters/vendor-transport.ts)
 * sends what this builds and hands the answer back.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { DestinationType } from './definition';
import {
  brazeDeletion,
  type Deletion,
  ga4Deletion,
  hubspotDeletion,
  mixpanelDeletion,
  webhookDeletion,
} from './deletion';
import { httpOutcome, type ItemOutcome, type OutboundMessage, type VendorAnswer } from './delivery';
import { eventBridgeDeletion, eventBridgeVendor, type PutEventsCall } from './eventbridge';
import { hubspotSegmentProperty, missingProperties } from './hubspot-properties';
import { signedWebhookRequest } from './webhook-request';

/** Where an audience's membership lands on a HubSpot contact (hubspot-properties.ts creates it). */
export { hubspotSegmentProperty };

export interface HttpRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** What a codec asks the transport to send: an HTTP request, or an AWS API call (eventbridge). */
export type VendorRequest = HttpRequest | PutEventsCall;

/** One request and the messages it carries (in order). */
export interface Prepared<R extends VendorRequest = HttpRequest> {
  request: R;
  messageIds: string[];
}

export interface Prepare<R extends VendorRequest = HttpRequest> {
  requests: Prepared<R>[];
  /** Messages the vendor would refuse (or, like GA4, silently drop): dead before sending. */
  rejected: { messageId: string; reason: string }[];
}

export interface Vendor<R extends VendorRequest = HttpRequest> {
  /** Messages per request, the vendor's documented maximum. */
  readonly maxBatch: number;
  /** Request body bytes, the vendor's documented maximum (uncompressed). */
  readonly maxBytes: number;
  prepare(
    settings: Record<string, unknown>,
    credentials: Record<string, string>,
    messages: readonly OutboundMessage[],
    now: Date,
  ): Prepare<R>;
  interpret(prepared: Prepared<R>, answer: VendorAnswer, now: number): Map<string, ItemOutcome>;
  /** The vendor's deletion API, where it has one: erasure is forwarded to it (deletion.ts). */
  readonly deletion?: Deletion;
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

/** A partial success: the messages `refusedAt` names (by position or id) refused with its reason, the rest delivered. */
const partial = (
  prepared: Prepared,
  status: number,
  refusedAt: (id: string, index: number) => string | undefined,
): Map<string, ItemOutcome> =>
  new Map(
    prepared.messageIds.map((id, i): [string, ItemOutcome] => {
      const why = refusedAt(id, i);
      return [
        id,
        why === undefined
          ? { kind: 'delivered' }
          : { kind: 'rejected', reason: `${status} ${why}`.slice(0, 200) },
      ];
    }),
  );

/**
 * Split into requests of at most `max` messages and `maxBytes` of body, in order. With `keyOf`,
 * items of the same key never share a request (a vendor that refuses a batch naming one record
 * twice): the later one opens the next request, which is sent after.
 */
export const chunk = <T>(
  items: readonly T[],
  max: number,
  maxBytes: number,
  size: (t: T) => number,
  overhead = 64,
  keyOf?: (t: T) => string,
): T[][] => {
  const out: T[][] = [];
  let current: T[] = [];
  let keys = new Set<string>();
  let bytes = overhead;
  for (const item of items) {
    const n = size(item) + 1;
    const key = keyOf?.(item);
    const repeated = key !== undefined && keys.has(key);
    if (current.length > 0 && (current.length >= max || bytes + n > maxBytes || repeated)) {
      out.push(current);
      current = [];
      keys = new Set();
      bytes = overhead;
    }
    current.push(item);
    if (key !== undefined) keys.add(key);
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
  deletion: webhookDeletion,
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
        request: signedWebhookRequest(settings.url as string, signer, msgId, now, body),
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
  deletion: mixpanelDeletion,
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
          distinct_id: m.userId ?? m.anonymousId ?? m.personKey ?? '',
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
        return partial(prepared, 400, (id) => refused.get(mixpanelInsertId(id)));
      }
    }
    // 413: the batch was too big for Mixpanel after all; retried (the next attempt batches anew).
    if ('status' in answer && answer.status === 413)
      return sameOutcome(prepared, { kind: 'retry', reason: '413 payload too large' });
    return sameOutcome(prepared, httpOutcome(answer, now));
  },
};

/** The JSON body of an answer, or undefined. */
const bodyOf = (answer: VendorAnswer): Record<string, unknown> | undefined => {
  if (!('status' in answer)) return undefined;
  try {
    return JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** GA4 event names: a letter, then letters, digits and `_`, at most 40; some prefixes reserved. */
const GA4_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const GA4_RESERVED = /^(google_|ga_|firebase_)/;
export const GA4_LIMITS = {
  events: 25,
  params: 25,
  paramValueChars: 100,
  userIdChars: 256,
  pastMs: 72 * 3_600_000,
} as const;

/** A GA4 event name for a message: `pulse_click`, `pulse_segment_entered`, … */
export const ga4EventName = (m: OutboundMessage): string =>
  `pulse_${(m.kind === 'event' ? (m.event?.type ?? 'event') : m.kind).replace(/[^A-Za-z0-9_]/g, '_')}`.slice(
    0,
    40,
  );

/**
 * GA4 Measurement Protocol (`/mp/collect`, `measurement_id` and `api_secret` in the query): up to 25
 * events per request for one `client_id`; event and parameter names of letters, digits and `_`
 * (≤ 40, no reserved prefix), ≤ 25 parameters, string values ≤ 100 characters, events at most 72 h
 * old. GA4 answers 2xx to malformed payloads and drops them silently, so every rule is checked here,
 * before sending: what breaks one is refused (dead), never sent to vanish. GA4 does not deduplicate.
 */
const ga4: Vendor = {
  maxBatch: GA4_LIMITS.events,
  maxBytes: 130_000,
  deletion: ga4Deletion,
  prepare(settings, credentials, messages, now) {
    const rejected: Prepare['rejected'] = [];
    const byClient = new Map<string, { id: string; json: string; userId?: string }[]>();
    for (const m of messages) {
      const clientId = m.anonymousId ?? m.personKey;
      const name = ga4EventName(m);
      const time = Date.parse(m.at);
      const params: Record<string, unknown> = {};
      const source = { ...(m.event?.data ?? {}), ...(m.event?.properties ?? {}) };
      if (m.event?.campaignId !== undefined) params.campaign_id = m.event.campaignId;
      if (m.event?.channel !== undefined) params.channel = m.event.channel;
      if (m.segment !== undefined) params.segment = m.segment;
      params.event_id = m.messageId;
      for (const [k, v] of Object.entries(source)) {
        if (Object.keys(params).length >= GA4_LIMITS.params) break;
        if (!GA4_NAME.test(k) || GA4_RESERVED.test(k)) continue;
        if (typeof v === 'number' || typeof v === 'boolean') params[k] = v;
        else if (typeof v === 'string') params[k] = v.slice(0, GA4_LIMITS.paramValueChars);
      }
      const problem =
        clientId === undefined
          ? 'GA4 needs a client id (no person on the message)'
          : !GA4_NAME.test(name) || GA4_RESERVED.test(name)
            ? `event name ${name} is not one GA4 takes`
            : now.getTime() - time > GA4_LIMITS.pastMs
              ? 'event older than the 72 hours GA4 accepts'
              : m.userId !== undefined && m.userId.length > GA4_LIMITS.userIdChars
                ? 'user_id longer than 256 characters'
                : typeof params.event_id === 'string' && params.event_id.length > GA4_LIMITS.paramValueChars
                  ? 'event id longer than a GA4 parameter value'
                  : undefined;
      if (problem) {
        rejected.push({ messageId: m.messageId, reason: problem });
        continue;
      }
      const json = JSON.stringify({ name, params, timestamp_micros: time * 1000 });
      const list = byClient.get(clientId as string) ?? [];
      list.push({ id: m.messageId, json, ...(m.userId !== undefined && { userId: m.userId }) });
      byClient.set(clientId as string, list);
    }
    const base = (settings.baseUrl as string | undefined) ?? 'https://www.google-analytics.com';
    const url = `${base}/mp/collect?measurement_id=${encodeURIComponent(String(settings.measurementId))}&api_secret=${encodeURIComponent(String(credentials.apiSecret))}`;
    const requests: Prepared[] = [];
    for (const [clientId, events] of byClient)
      for (const part of chunk(
        events,
        Math.min(GA4_LIMITS.events, Number(settings.batchSize ?? 25)),
        this.maxBytes,
        (e) => e.json.length,
      )) {
        const userId = part.find((e) => e.userId !== undefined)?.userId;
        requests.push({
          messageIds: part.map((e) => e.id),
          request: {
            url,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: `{"client_id":${JSON.stringify(clientId)},${userId !== undefined ? `"user_id":${JSON.stringify(userId)},` : ''}"events":[${part.map((e) => e.json).join(',')}]}`,
          },
        });
      }
    return { requests, rejected };
  },
  interpret(prepared, answer, now) {
    return sameOutcome(prepared, httpOutcome(answer, now));
  },
};

export const BRAZE_LIMITS = { objects: 75 } as const;

/**
 * Braze `/users/track` (Bearer REST key): at most 75 objects per request across `events`,
 * `attributes` and `purchases`. Events by `external_id` (the user id; anonymous people by their
 * `user_alias`), segment joins and leaves as the array attribute `pulse_segments` (add/remove). A
 * 201 may carry `errors` naming refused objects by array and index — the rest were processed.
 *
 * An audience change names the person by their person key, which is their user id once Pulse knows
 * one: it goes to the Braze user of that `external_id`, in update-only mode (`_update_existing_only`),
 * so a join never creates a profile — a person Braze does not know (an anonymous one) is skipped.
 */
const brazeAudienceTarget = (m: OutboundMessage) =>
  m.userId === undefined && m.anonymousId !== undefined
    ? { user_alias: { alias_name: m.anonymousId, alias_label: 'pulse_anonymous_id' } }
    : { external_id: m.userId ?? m.personKey, _update_existing_only: true };

const braze: Vendor = {
  maxBatch: BRAZE_LIMITS.objects,
  maxBytes: 4_000_000,
  deletion: brazeDeletion,
  prepare(settings, credentials, messages) {
    const rejected: Prepare['rejected'] = [];
    const objects: { id: string; array: 'events' | 'attributes'; json: string }[] = [];
    for (const m of messages) {
      const who =
        m.userId !== undefined
          ? { external_id: m.userId }
          : m.anonymousId !== undefined || m.personKey !== undefined
            ? { user_alias: { alias_name: m.anonymousId ?? m.personKey, alias_label: 'pulse_anonymous_id' } }
            : undefined;
      if (!who) {
        rejected.push({ messageId: m.messageId, reason: 'Braze tracks people: this message names none' });
        continue;
      }
      if (m.kind === 'segment.entered' || m.kind === 'segment.left') {
        const op = m.kind === 'segment.entered' ? 'add' : 'remove';
        objects.push({
          id: m.messageId,
          array: 'attributes',
          json: JSON.stringify({ ...brazeAudienceTarget(m), pulse_segments: { [op]: [m.segment] } }),
        });
        continue;
      }
      objects.push({
        id: m.messageId,
        array: 'events',
        json: JSON.stringify({
          ...who,
          name: m.kind === 'event' ? `pulse_${m.event?.type ?? 'event'}` : `pulse_${m.kind}`,
          time: m.at,
          properties: {
            ...(m.event?.data ?? {}),
            ...(m.event?.properties ?? {}),
            pulse_event_id: m.messageId,
            ...(m.event?.campaignId !== undefined && { campaign_id: m.event.campaignId }),
          },
        }),
      });
    }
    const base = settings.baseUrl as string;
    const requests = chunk(
      objects,
      Math.min(BRAZE_LIMITS.objects, Number(settings.batchSize ?? 75)),
      this.maxBytes,
      (o) => o.json.length,
    ).map((part): Prepared => {
      const events = part.filter((o) => o.array === 'events');
      const attributes = part.filter((o) => o.array === 'attributes');
      // Request order: events, then attributes (the indexes Braze's errors refer to).
      return {
        messageIds: [...events, ...attributes].map((o) => o.id),
        request: {
          url: `${base}/users/track`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.apiKey}` },
          body: `{${[events.length ? `"events":[${events.map((o) => o.json).join(',')}]` : '', attributes.length ? `"attributes":[${attributes.map((o) => o.json).join(',')}]` : ''].filter(Boolean).join(',')}}`,
        },
      };
    });
    return { requests, rejected };
  },
  interpret(prepared, answer, now) {
    const base = httpOutcome(answer, now);
    const body = bodyOf(answer);
    const errors = body?.errors as { type?: string; input_array?: string; index?: number }[] | undefined;
    if (base.kind !== 'delivered' || !Array.isArray(errors) || errors.length === 0)
      return sameOutcome(prepared, base);
    const parsed = JSON.parse((prepared.request.body as string) || '{}') as { events?: unknown[] };
    const eventCount = parsed.events?.length ?? 0;
    const refused = new Map<number, string>();
    for (const e of errors) {
      const offset = e.input_array === 'attributes' ? eventCount : 0;
      if (typeof e.index === 'number') refused.set(offset + e.index, String(e.type ?? 'refused'));
    }
    return partial(prepared, 201, (_id, i) => refused.get(i));
  },
};

export const HUBSPOT_LIMITS = { events: 500, contacts: 100 } as const;

/**
 * HubSpot (private app token), matching contacts by e-mail (a person without an e-mail id is
 * refused before sending). `events`: custom behavioural events (the definition's fully qualified
 * `eventName`) to `/events/v3/send/batch`, ≤ 500 per request, `uuid` from the message id.
 * `properties`: contact upserts to `/crm/v3/objects/contacts/batch/upsert` (`idProperty: email`,
 * ≤ 100): last event, campaign, time and segment change, and each audience's membership
 * (hubspotSegmentProperty), properties Pulse creates when the destination is saved
 * (hubspot-properties.ts); an upsert naming one the portal lacks is dead, its reason naming it. 429 carries HubSpot's rate-limit headers;
 * a 207 (multi-status) lists failed inputs in `errors[].context` (`ids`, or `index`), the rest landed.
 */
const hubspot: Vendor = {
  maxBatch: HUBSPOT_LIMITS.events,
  maxBytes: 3_000_000,
  deletion: hubspotDeletion,
  prepare(settings, credentials, messages) {
    const rejected: Prepare['rejected'] = [];
    const inputs: { id: string; json: string; contact: string }[] = [];
    const properties = settings.mode === 'properties';
    for (const m of messages) {
      const email = [m.userId, m.personKey].find((x) => x?.includes('@'));
      if (!email) {
        rejected.push({
          messageId: m.messageId,
          reason: 'HubSpot matches contacts by e-mail: the person has no e-mail id',
        });
        continue;
      }
      if (properties) {
        const props: Record<string, string> = { pulse_last_seen_at: m.at };
        if (m.event) props.pulse_last_event = m.event.type;
        if (m.event?.campaignId !== undefined) props.pulse_last_campaign = m.event.campaignId;
        if (m.segment !== undefined) {
          props.pulse_last_segment_change = `${m.kind === 'segment.entered' ? '+' : '-'}${m.segment}`;
          props[hubspotSegmentProperty(m.segment)] = String(m.kind === 'segment.entered');
        }
        inputs.push({
          id: m.messageId,
          contact: normaliseId(email),
          json: JSON.stringify({ idProperty: 'email', id: normaliseId(email), properties: props }),
        });
      } else {
        inputs.push({
          id: m.messageId,
          contact: normaliseId(email),
          json: JSON.stringify({
            eventName: settings.eventName,
            email: normaliseId(email),
            occurredAt: m.at,
            uuid: m.messageId,
            properties: {
              pulse_kind: m.kind,
              ...(m.event && { pulse_type: m.event.type }),
              ...(m.event?.campaignId !== undefined && { pulse_campaign: m.event.campaignId }),
              ...(m.segment !== undefined && { pulse_segment: m.segment }),
            },
          }),
        });
      }
    }
    const base = (settings.baseUrl as string | undefined) ?? 'https://api.hubapi.com';
    const max = properties ? HUBSPOT_LIMITS.contacts : HUBSPOT_LIMITS.events;
    const url = properties ? `${base}/crm/v3/objects/contacts/batch/upsert` : `${base}/events/v3/send/batch`;
    // An upsert batch naming one contact twice is refused whole: a contact's next update waits for
    // the next request. (Events may repeat a contact.)
    const requests = chunk(
      inputs,
      Math.min(max, Number(settings.batchSize ?? max)),
      this.maxBytes,
      (i) => i.json.length,
      64,
      properties ? (i) => i.contact : undefined,
    ).map(
      (part): Prepared => ({
        messageIds: part.map((i) => i.id),
        request: {
          url,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.accessToken}` },
          body: `{"inputs":[${part.map((i) => i.json).join(',')}]}`,
        },
      }),
    );
    return { requests, rejected };
  },
  interpret(prepared, answer, now) {
    if ('status' in answer && answer.status === 207) {
      const errors = (bodyOf(answer)?.errors ?? []) as {
        message?: string;
        context?: { ids?: string[]; index?: string[] };
      }[];
      const inputs = (
        JSON.parse(prepared.request.body) as { inputs: { id?: string; uuid?: string; email?: string }[] }
      ).inputs;
      const refused = new Map<number, string>();
      for (const e of errors) {
        const why = String(e.message ?? 'refused');
        for (const i of e.context?.index ?? []) refused.set(Number(i), why);
        const ids = new Set(e.context?.ids ?? []);
        inputs.forEach((input, i) => {
          if ([input.id, input.uuid, input.email].some((v) => v !== undefined && ids.has(v)))
            refused.set(i, why);
        });
      }
      return partial(prepared, 207, (_id, i) => refused.get(i));
    }
    // An upsert naming a property the portal lacks is refused whole: say which, never a value.
    const missing = 'status' in answer && answer.status === 400 ? missingProperties(answer.body) : [];
    if (missing.length > 0)
      return sameOutcome(prepared, {
        kind: 'rejected',
        reason:
          `400 PROPERTY_DOESNT_EXIST: HubSpot has no contact property ${missing.join(', ')}; save the destination again (PUT) to create them`.slice(
            0,
            300,
          ),
      });
    return sameOutcome(prepared, httpOutcome(answer, now));
  },
};

export const vendors: Partial<Record<DestinationType, Vendor<VendorRequest>>> = {
  webhook,
  mixpanel,
  ga4,
  braze,
  hubspot,
  eventbridge: { ...eventBridgeVendor(messageJson), deletion: eventBridgeDeletion },
};

/** What a type's codec prepares: a PutEvents call for `eventbridge`, an HTTP request for the others. */
type RequestOf<T extends DestinationType> = T extends 'eventbridge' ? PutEventsCall : HttpRequest;

export const vendorFor = <T extends DestinationType>(type: T): Vendor<RequestOf<T>> => {
  const v = vendors[type];
  if (!v) throw new Error(`No vendor codec for destination type ${type}`);
  return v as Vendor<RequestOf<T>>;
};
