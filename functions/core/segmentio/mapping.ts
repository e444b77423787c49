/**
 * The Segment Spec mapping: a validated Segment message (protocol.ts) → the input of Pulse's
 * canonical event, so `@segment/analytics-node`, analytics.js and the Segment/RudderStack mobile
 * SDKs can send to Pulse unchanged. Pure. docs/segment.md is the user-facing form of the table
 * below.
 *
 * | Segment message                                  | Pulse type   | type-specific fields (first present wins)                         |
 * |--------------------------------------------------|--------------|-------------------------------------------------------------------|
 * | track "Product Clicked"                          | `click`      | elementId ← product_id, sku                                       |
 * | track "Promotion Clicked"                        | `click`      | elementId ← promotion_id, creative, name                          |
 * | track "Email Link Clicked"                       | `click`      | elementId ← link_id                                               |
 * | page                                             | `view`       | pageId ← name, properties.name, properties.path                   |
 * | screen                                           | `view`       | screen ← name, properties.name                                    |
 * | track "Product Viewed"                           | `view`       | pageId ← product_id, sku                                          |
 * | track "Product List Viewed"                      | `view`       | pageId ← list_id, category                                        |
 * | track "Promotion Viewed"                         | `view`       | pageId ← promotion_id, creative, name                             |
 * | track "Product Shared", "Cart Shared"            | `share`      | network ← share_via                                               |
 * | track "Video Playback Started"                   | `video-play` | videoId ← video_id, content_asset_id, asset_id, content_asset_ids[0]; positionSec ← position; durationSec ← total_length |
 * | track "Order Completed"                          | `conversion` | value ← revenue, total, value; currency; conversionType `order`   |
 * | track "Signed Up"                                | `conversion` | conversionType `signup`                                           |
 * | group                                            | `custom`     | name `group`; properties `{groupId}` (traits are not stored)      |
 * | any other track                                  | `custom`     | name ← event                                                      |
 * | identify (userId and anonymousId)                | `identify`   | the link anonymousId → userId                                     |
 * | identify with traits (one id or both)            | `identify`   | declared traits set on the person (docs/traits.md)                |
 * | alias (previousId → userId)                      | `identify`   | the link previousId → userId                                      |
 *
 * Event names match case-insensitively, `_` as a space ("product_clicked" is "Product Clicked").
 * A Pulse-only field the Spec's properties do not supply stays empty: a valid Spec message is
 * never rejected for lacking one. Every other property stays in `properties`.
 */
import { createHash } from 'node:crypto';
import type { EdgeHints } from '../edge/enrich';
import { type DoorContext, derivedEventId, type EnvelopeInput } from '../envelope';
import { type EventType, FIELD_LIMITS } from '../events';
import type { FieldError } from '../problem';
import { hasTraits } from '../traits';
import { channelOf, deviceTypeOf } from './device-context';
import {
  at,
  currencyOf,
  firstNumber,
  firstText,
  ID_MAX,
  idOf,
  type Props,
  present,
  textOf,
} from './message-fields';
import type { SegmentMessage, SegmentType } from './protocol';

const TIME_MAX = 1e12;

/** What a message's context says about its edge: user agent, address, landing page, campaign. */
const edgeHintsOf = (context: Props): EdgeHints | undefined => {
  const hints: EdgeHints = {};
  const userAgent = textOf(context.userAgent, 2048);
  if (userAgent !== undefined) hints.userAgent = userAgent;
  const ip = textOf(context.ip, 64);
  if (ip !== undefined) hints.ip = ip;
  const url = textOf(at(context, 'page', 'url'), 8192);
  if (url !== undefined) hints.url = url;
  if (context.campaign !== undefined) hints.campaign = context.campaign;
  return Object.keys(hints).length > 0 ? hints : undefined;
};

interface SpecMapping {
  type: EventType;
  fields: (p: Props) => Record<string, unknown>;
}

/** Segment Spec event names (normalised: lower case, `_` as space) → Pulse type and fields. */
export const SPEC_EVENTS: Readonly<Record<string, SpecMapping>> = {
  'product clicked': {
    type: 'click',
    fields: (p) => ({ elementId: firstText(ID_MAX, p.product_id, p.sku) }),
  },
  'promotion clicked': {
    type: 'click',
    fields: (p) => ({ elementId: firstText(ID_MAX, p.promotion_id, p.creative, p.name) }),
  },
  'email link clicked': { type: 'click', fields: (p) => ({ elementId: firstText(ID_MAX, p.link_id) }) },
  'product viewed': { type: 'view', fields: (p) => ({ pageId: firstText(ID_MAX, p.product_id, p.sku) }) },
  'product list viewed': {
    type: 'view',
    fields: (p) => ({ pageId: firstText(ID_MAX, p.list_id, p.category) }),
  },
  'promotion viewed': {
    type: 'view',
    fields: (p) => ({ pageId: firstText(ID_MAX, p.promotion_id, p.creative, p.name) }),
  },
  'product shared': { type: 'share', fields: (p) => ({ network: firstText(64, p.share_via) }) },
  'cart shared': { type: 'share', fields: (p) => ({ network: firstText(64, p.share_via) }) },
  'video playback started': {
    type: 'video-play',
    fields: (p) => ({
      videoId: firstText(
        ID_MAX,
        p.video_id,
        p.content_asset_id,
        p.asset_id,
        Array.isArray(p.content_asset_ids) ? p.content_asset_ids[0] : undefined,
      ),
      positionSec: firstNumber(0, TIME_MAX, p.position),
      durationSec: firstNumber(0, TIME_MAX, p.total_length),
    }),
  },
  'order completed': {
    type: 'conversion',
    fields: (p) => ({
      value: firstNumber(-TIME_MAX, TIME_MAX, p.revenue, p.total, p.value),
      currency: currencyOf(p.currency),
      conversionType: 'order',
    }),
  },
  'signed up': { type: 'conversion', fields: () => ({ conversionType: 'signup' }) },
};

export const normaliseEventName = (name: string): string =>
  name
    .trim()
    .toLowerCase()
    .replace(/[_\s]+/g, ' ');

/** Message ids longer than Pulse's event ids keep their identity through a hash. */
const eventIdOf = (messageId: string): string =>
  messageId.length <= 100
    ? messageId
    : `m-${createHash('sha256').update(messageId).digest('base64url').slice(0, 32)}`;

/** The parts of a message that say what happened: a retry (new sentAt, retry metadata) keeps them. */
/**
 * What a message's derived id (no messageId) is made of: its content, so a retry is one event. An
 * identify setting traits with no time of its own also takes the receipt time: otherwise a trait set
 * back to an earlier value (pro → free → pro) would look like a repeat of the first and be dropped.
 */
const stableContent = (m: SegmentMessage, type: SegmentType, receivedAt: string) => ({
  ...(type === 'identify' &&
    hasTraits(m.traits) &&
    (m.originalTimestamp ?? m.timestamp) == null && { receivedAt }),
  type,
  userId: idOf(m.userId),
  anonymousId: idOf(m.anonymousId),
  event: m.event,
  name: m.name,
  properties: m.properties,
  timestamp: m.originalTimestamp ?? m.timestamp,
  previousId: m.previousId,
  groupId: m.groupId,
  traits: type === 'identify' ? m.traits : undefined,
});

export interface Mapped {
  input: EnvelopeInput;
  /** Accepted and checked, but nothing to put on the stream (an identify that links nothing). */
  noop: boolean;
  /** Which message field the device time came from, to name it in a time error. */
  timeField: 'originalTimestamp' | 'timestamp' | 'sentAt' | undefined;
}

/** Field errors of Pulse-only properties (campaign, experiment), which are validated, not guessed. */
const pulseFieldErrors = (p: Props): FieldError[] => {
  const errors: FieldError[] = [];
  const check = (key: string, max: number) => {
    if (p[key] !== undefined && textOf(p[key], max) === undefined)
      errors.push({ path: `properties.${key}`, message: `Expected a string of 1..${max} characters` });
  };
  check('campaignId', FIELD_LIMITS.campaignId);
  check('experimentId', FIELD_LIMITS.experimentId);
  check('variant', FIELD_LIMITS.variant);
  return errors;
};

/**
 * A validated message → the envelope's input. `batchSentAt` is the batch's `sentAt`, used for the
 * messages that carry none of their own (the mobile SDKs stamp only the batch).
 */
export const mapSegmentMessage = (
  m: SegmentMessage,
  type: SegmentType,
  ctx: Pick<DoorContext, 'sourceId' | 'receivedAt' | 'receivedAtIso'>,
  batchSentAt?: string,
): { ok: true; mapped: Mapped } | { ok: false; errors: FieldError[] } => {
  const context = m.context ?? {};
  const props: Props = m.properties ?? {};
  const errors = type === 'identify' || type === 'alias' ? [] : pulseFieldErrors(props);
  if (errors.length > 0) return { ok: false, errors };

  const sentAt = m.sentAt ?? batchSentAt ?? undefined;
  const device = m.originalTimestamp ?? m.timestamp ?? undefined;
  const timeField = present(m.originalTimestamp)
    ? 'originalTimestamp'
    : present(m.timestamp)
      ? 'timestamp'
      : present(sentAt)
        ? 'sentAt'
        : undefined;
  const userId = idOf(m.userId);
  let anonymousId = idOf(m.anonymousId);
  const input: EnvelopeInput = {
    type: 'custom',
    eventId:
      typeof m.messageId === 'string'
        ? eventIdOf(m.messageId)
        : derivedEventId(
            ctx.sourceId,
            stableContent(m, type, ctx.receivedAtIso ?? ctx.receivedAt.toISOString()),
          ),
    timestamp: device ?? sentAt ?? ctx.receivedAtIso ?? ctx.receivedAt.toISOString(),
    properties: props,
  };
  // No device type in the context: the edge fills it from the user agent.
  if (at(context, 'device', 'type') !== undefined) input.deviceType = deviceTypeOf(context);
  const hints = edgeHintsOf(context);
  if (hints) input.hints = hints;
  if (sentAt) input.sentAt = sentAt;
  const channel = channelOf(context);
  if (channel) input.channel = channel;

  let noop = false;
  switch (type) {
    case 'identify':
    case 'alias': {
      // An identify links an anonymous id to a user; alias links any earlier id (previousId) to
      // the user. With only one id (or the same twice) there is no link to record.
      if (type === 'alias') anonymousId = idOf(m.previousId);
      input.type = 'identify';
      input.properties = {};
      // Without a link, an identify still sets the person's traits (checked by the caller).
      noop =
        (userId === undefined || anonymousId === undefined || userId === anonymousId) &&
        !(type === 'identify' && hasTraits(m.traits));
      break;
    }
    case 'page':
      input.type = 'view';
      input.pageId = firstText(ID_MAX, m.name, props.name, props.path);
      break;
    case 'screen':
      input.type = 'view';
      input.screen = firstText(ID_MAX, m.name, props.name);
      break;
    case 'group':
      // Accounts are not a Pulse concept: the call is kept as a custom event of the person.
      input.type = 'custom';
      input.name = 'group';
      input.properties = { groupId: idOf(m.groupId) };
      break;
    case 'track': {
      const spec = SPEC_EVENTS[normaliseEventName(m.event as string)];
      if (spec) {
        input.type = spec.type;
        const fields = input as Record<string, unknown>;
        for (const [k, v] of Object.entries(spec.fields(props))) if (v !== undefined) fields[k] = v;
      } else {
        input.type = 'custom';
        input.name = m.event;
      }
      break;
    }
  }
  if (userId !== undefined) input.userId = userId;
  if (anonymousId !== undefined) input.anonymousId = anonymousId;
  if (input.type !== 'identify') {
    // An explicit campaign beats the one from the landing page's UTM parameters
    // (`context.campaign`, `context.page.url`: attributed at the edge, functions/core/edge).
    const campaignId = textOf(props.campaignId, FIELD_LIMITS.campaignId);
    if (campaignId !== undefined) input.campaignId = campaignId;
    const experimentId = textOf(props.experimentId, FIELD_LIMITS.experimentId);
    const variant = textOf(props.variant, FIELD_LIMITS.variant);
    if (experimentId !== undefined) input.experimentId = experimentId;
    if (variant !== undefined) input.variant = variant;
  }
  return { ok: true, mapped: { input, noop, timeField } };
};
