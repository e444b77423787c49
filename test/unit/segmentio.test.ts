/**
 * The Segment door, pure: golden tests of the Spec mapping (Segment message in, canonical event
 * out), and the bad input it must refuse by name.
 */
import { describe, expect, it } from 'vitest';
import { issueConsentToken } from '../../functions/core/consent';
import type { DoorContext } from '../../functions/core/envelope';
import type { CanonicalEvent } from '../../functions/core/events';
import type { Rejection } from '../../functions/core/ingest';
import { channelOf, deviceTypeOf } from '../../functions/core/segmentio/device-context';
import {
  ingestSegmentMessage,
  isNoOp,
  isSegmentRejection,
  type SegmentMessageOptions,
  type SegmentOutcome,
} from '../../functions/core/segmentio/ingest-message';
import type { SegmentType } from '../../functions/core/segmentio/protocol';
import { quarantinePayload } from '../../functions/core/segmentio/quarantine';
import { segmentSettings } from '../../functions/core/segmentio/settings';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const receivedAt = new Date('2026-06-01T12:00:00.000Z');
const ctx: DoorContext = {
  sourceId: 'src_test',
  sourceChannel: 'web',
  receivedAt,
  receivedAtIso: receivedAt.toISOString(),
  horizonDays: 30,
  door: 'segment',
  consent: { key },
  pii: { mode: 'reject', key },
};
const token = (subject: string) => issueConsentToken(key, subject, ['analytics'], receivedAt, 30).token;
const consentFor = (subject: string) => ({ consent: { token: token(subject) } });

const ingest = (raw: unknown, options: Partial<SegmentMessageOptions> = {}): SegmentOutcome =>
  ingestSegmentMessage(raw, 0, ctx, { prefix: '', ...options });
const accepted = (raw: unknown, options: Partial<SegmentMessageOptions> = {}): CanonicalEvent => {
  const out = ingest(raw, options);
  if (isSegmentRejection(out)) throw new Error(`rejected: ${JSON.stringify(out)}`);
  if (isNoOp(out)) throw new Error('no-op');
  expect(JSON.parse(out.json)).toEqual(JSON.parse(JSON.stringify(out.event)));
  return out.event;
};
const rejected = (raw: unknown, options: Partial<SegmentMessageOptions> = {}): Rejection => {
  const out = ingest(raw, options);
  if (!isSegmentRejection(out)) throw new Error(`accepted: ${isNoOp(out) ? 'no-op' : out.event.eventId}`);
  return out;
};

const T = '2026-06-01T11:59:00.000Z';
/** A message as the SDKs build it, with consent for `u1`. */
const msg = (type: SegmentType, fields: Record<string, unknown> = {}) => ({
  type,
  messageId: `msg-${type}-${Math.random().toString(36).slice(2)}`,
  userId: 'u1',
  anonymousId: 'a1',
  timestamp: T,
  context: consentFor('u1'),
  ...fields,
});
const track = (
  event: string,
  properties: Record<string, unknown> = {},
  fields: Record<string, unknown> = {},
) => msg('track', { event, properties, ...fields });

describe('Segment Spec → canonical event (golden)', () => {
  // [message, expected type, expected data (exactly)]
  const golden: [string, Record<string, unknown>, CanonicalEvent['type'], Record<string, unknown>][] = [
    [
      'Product Clicked',
      track('Product Clicked', { product_id: 'p-1', sku: 's-1' }),
      'click',
      { elementId: 'p-1' },
    ],
    ['Product Clicked by sku', track('Product Clicked', { sku: 's-1' }), 'click', { elementId: 's-1' }],
    ['Product Clicked, no id', track('Product Clicked', { price: 3 }), 'click', {}],
    ['product_clicked', track('product_clicked', { product_id: 7 }), 'click', { elementId: '7' }],
    [
      'Promotion Clicked',
      track('Promotion Clicked', { promotion_id: 'promo-9' }),
      'click',
      { elementId: 'promo-9' },
    ],
    ['Email Link Clicked', track('Email Link Clicked', { link_id: 'l-1' }), 'click', { elementId: 'l-1' }],
    ['Promotion Viewed', track('Promotion Viewed', { creative: 'banner-1' }), 'view', { pageId: 'banner-1' }],
    ['Product Viewed', track('Product Viewed', { product_id: 'p-2' }), 'view', { pageId: 'p-2' }],
    ['Product List Viewed', track('Product List Viewed', { list_id: 'hot' }), 'view', { pageId: 'hot' }],
    [
      'page with a name',
      msg('page', { name: 'Pricing', properties: { path: '/pricing' } }),
      'view',
      { pageId: 'Pricing' },
    ],
    [
      'page without a name',
      msg('page', { properties: { path: '/pricing', url: 'https://x.test/pricing' } }),
      'view',
      { pageId: '/pricing' },
    ],
    ['screen', msg('screen', { name: 'Home', properties: {} }), 'view', { screen: 'Home' }],
    [
      'Product Shared',
      track('Product Shared', { share_via: 'whatsapp', product_id: 'p' }),
      'share',
      { network: 'whatsapp' },
    ],
    ['Product Shared, no network', track('Product Shared', { product_id: 'p' }), 'share', {}],
    [
      'Video Playback Started',
      track('Video Playback Started', { content_asset_ids: ['v-1', 'v-2'], position: 12, total_length: 300 }),
      'video-play',
      { videoId: 'v-1', positionSec: 12, durationSec: 300 },
    ],
    [
      'Video Playback Started, video_id',
      track('Video Playback Started', { video_id: 'v-9' }),
      'video-play',
      { videoId: 'v-9' },
    ],
    [
      'Video Playback Started, content_asset_id',
      track('Video Playback Started', { content_asset_id: 'v-3', position: -1 }),
      'video-play',
      { videoId: 'v-3' },
    ],
    [
      'Order Completed',
      track('Order Completed', { order_id: 'o-1', revenue: 25, total: 30, currency: 'eur' }),
      'conversion',
      { value: 25, currency: 'EUR', conversionType: 'order' },
    ],
    [
      'Order Completed, total as a string',
      track('Order Completed', { total: '19.99', currency: 'Euro' }),
      'conversion',
      { value: 19.99, conversionType: 'order' },
    ],
    ['Signed Up', track('Signed Up', {}), 'conversion', { conversionType: 'signup' }],
    ['an unknown event', track('Wishlist Added', { product_id: 'p' }), 'custom', { name: 'Wishlist Added' }],
    [
      'Video Playback Paused',
      track('Video Playback Paused', {}),
      'custom',
      { name: 'Video Playback Paused' },
    ],
    [
      'group',
      msg('group', { groupId: 'acme', traits: { name: 'Acme', email: 'boss@acme.test' } }),
      'custom',
      { name: 'group' },
    ],
  ];

  it.each(golden)('%s', (_name, message, type, data) => {
    const event = accepted(message);
    expect(event.type).toBe(type);
    expect(event.data).toEqual(data);
    expect(event).toMatchObject({
      v: 1,
      eventId: message.messageId,
      personKey: 'u1',
      userId: 'u1',
      anonymousId: 'a1',
      door: 'segment',
      sourceId: 'src_test',
      timestamp: T,
      eventTime: T,
      receivedAt: receivedAt.toISOString(),
    });
  });

  it('keeps the properties, never the context, traits, integrations or the consent token', () => {
    const event = accepted(
      msg('track', {
        event: 'Product Clicked',
        properties: { product_id: 'p', color: 'red' },
        traits: { email: 'a@b.test' },
        integrations: { All: false },
        context: {
          ...consentFor('u1'),
          ip: '203.0.113.9',
          locale: 'fr-FR',
          userAgent: 'Mozilla/5.0',
          library: { name: 'analytics.js', version: 'next-1.70.0' },
        },
      }),
    );
    expect(event.properties).toEqual({ product_id: 'p', color: 'red' });
    const stored = JSON.stringify(event);
    for (const absent of ['203.0.113.9', 'a@b.test', 'fr-FR', 'Mozilla', 'All', 'pct1', token('u1')])
      expect(stored).not.toContain(absent);
    // The group's traits too: only its id is kept.
    expect(accepted(msg('group', { groupId: 42, traits: { plan: 'gold' } })).properties).toEqual({
      groupId: '42',
    });
  });

  it('takes the campaign from properties.campaignId, else context.campaign.name, else none', () => {
    const utm = { ...consentFor('u1'), campaign: { name: 'spring', source: 'newsletter' } };
    expect(accepted(track('X', { campaignId: 'explicit' }, { context: utm })).campaignId).toBe('explicit');
    expect(accepted(track('X', {}, { context: utm })).campaignId).toBe('spring');
    expect(accepted(msg('page', { context: utm })).campaignId).toBe('spring');
    const none = accepted(track('X'));
    expect(none.campaignId).toBeUndefined();
    expect('campaignId' in JSON.parse(JSON.stringify(none))).toBe(false);
    // A UTM name Pulse cannot key is not a campaign; the event still counts for the person.
    expect(
      accepted(track('X', {}, { context: { ...utm, campaign: { name: 'x'.repeat(200) } } })).campaignId,
    ).toBeUndefined();
    expect(accepted(track('X', { experimentId: 'exp-1', variant: 'B' })).variant).toBe('B');
  });

  it('maps device type and channel from the context, other and the source channel when unknown', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ device: { type: 'ios', model: 'iPhone15,2' } }, 'mobile'],
      [{ device: { type: 'ios', model: 'iPad13,4' } }, 'tablet'],
      [{ device: { type: 'android' } }, 'mobile'],
      [{ device: { type: 'tablet' } }, 'tablet'],
      [{ device: { type: 'tvos' } }, 'tv'],
      [{ device: { type: 'macos' } }, 'desktop'],
      [{ device: { type: 'toaster' } }, 'other'],
      [{ device: 'ios' }, 'other'],
      [{}, 'other'],
    ];
    for (const [context, deviceType] of cases)
      expect([context, deviceTypeOf(context)]).toEqual([context, deviceType]);
    const channels: [Record<string, unknown>, string | undefined][] = [
      [{ os: { name: 'iOS' }, library: { name: 'analytics-react-native' } }, 'ios'],
      [{ os: { name: 'Android' } }, 'android'],
      [{ library: { name: 'analytics-kotlin' } }, 'android'],
      [{ library: { name: 'analytics-swift' } }, 'ios'],
      [{ library: { name: 'analytics.js' } }, 'web'],
      [{ library: { name: '@segment/analytics-node' } }, 'server'],
      [{ library: { name: 'analytics-python' } }, 'server'],
      [{}, undefined],
    ];
    for (const [context, channel] of channels)
      expect([context, channelOf(context)]).toEqual([context, channel]);
    const event = accepted(
      msg('screen', {
        name: 'Home',
        context: { ...consentFor('u1'), device: { type: 'android' }, os: { name: 'Android' } },
      }),
    );
    expect(event).toMatchObject({ deviceType: 'mobile', channel: 'android' });
    expect(accepted(msg('page')).channel).toBe('web');
  });

  it('corrects clock skew with originalTimestamp or timestamp and the message or batch sentAt', () => {
    // The device clock is 2 h behind: it stamped the event 60 s before it sent it.
    const skewed = { timestamp: '2026-06-01T09:58:00.000Z', sentAt: '2026-06-01T09:59:00.000Z' };
    expect(accepted(track('X', {}, skewed)).eventTime).toBe('2026-06-01T11:59:00.000Z');
    const batchOnly = accepted(track('X', {}, { timestamp: '2026-06-01T09:58:00.000Z' }), {
      batch: { sentAt: '2026-06-01T09:59:30.000Z' },
    });
    // Sent 90 s after it happened: 90 s before receipt.
    expect(batchOnly).toMatchObject({
      eventTime: '2026-06-01T11:58:30.000Z',
      sentAt: '2026-06-01T09:59:30.000Z',
    });
    const original = accepted(
      track(
        'X',
        {},
        {
          originalTimestamp: '2026-06-01T09:58:00.000Z',
          timestamp: '2026-06-01T11:00:00.000Z',
          sentAt: '2026-06-01T09:59:00.000Z',
        },
      ),
    );
    expect(original).toMatchObject({
      timestamp: '2026-06-01T09:58:00.000Z',
      eventTime: '2026-06-01T11:59:00.000Z',
    });
    // No time at all: the receipt time.
    expect(accepted(track('X', {}, { timestamp: undefined })).eventTime).toBe(receivedAt.toISOString());
    const offset = accepted(track('X', {}, { timestamp: '2026-06-01T13:58:00+02:00' }));
    expect(offset.timestamp).toBe('2026-06-01T11:58:00.000Z');
  });

  it('maps identify and alias to identity links, and accepts an identify that links nothing as a no-op', () => {
    const identify = accepted(msg('identify', { traits: { email: 'a@b.test', name: 'Ann' } }));
    expect(identify).toMatchObject({
      type: 'identify',
      userId: 'u1',
      anonymousId: 'a1',
      personKey: 'u1',
      properties: {},
      data: {},
    });
    expect(JSON.stringify(identify)).not.toContain('a@b.test');
    expect(identify.campaignId).toBeUndefined();

    const alias = accepted({
      type: 'alias',
      messageId: 'al-1',
      previousId: 'old-id',
      userId: 'u1',
      context: consentFor('u1'),
    });
    expect(alias).toMatchObject({
      type: 'identify',
      userId: 'u1',
      anonymousId: 'old-id',
      personKey: 'u1',
      eventId: 'al-1',
    });
    // Consent for the earlier id covers the alias too.
    expect(
      accepted({ type: 'alias', previousId: 'old-id', userId: 'u1', context: consentFor('old-id') }).type,
    ).toBe('identify');

    for (const noop of [
      msg('identify', { anonymousId: undefined }),
      msg('identify', { userId: null, anonymousId: 'a1', context: consentFor('a1') }),
      msg('identify', { anonymousId: 'u1' }),
      { type: 'alias', previousId: 'u1', userId: 'u1', context: consentFor('u1') },
    ])
      expect(isNoOp(ingest(noop))).toBe(true);
  });

  it('uses messageId as the event id, hashing long ones, and derives a retry-stable id without one', () => {
    const long = 'x'.repeat(300);
    expect(accepted(track('X', {}, { messageId: long })).eventId).toMatch(/^m-[\w-]{32}$/);
    const a = accepted(track('X', { n: 1 }, { messageId: undefined, sentAt: '2026-06-01T11:59:10.000Z' }));
    const b = accepted(
      track(
        'X',
        { n: 1 },
        { messageId: undefined, sentAt: '2026-06-01T11:59:40.000Z', _metadata: { retryCount: 1 } },
      ),
    );
    const c = accepted(track('X', { n: 2 }, { messageId: undefined }));
    expect(a.eventId).toMatch(/^d-/);
    expect(b.eventId).toBe(a.eventId);
    expect(c.eventId).not.toBe(a.eventId);
  });

  it('an identify setting traits with no id and no time is a new event at each receipt, a retry within one the same', () => {
    const at = (iso: string) => ({ ...ctx, receivedAt: new Date(iso), receivedAtIso: iso });
    const identify = (plan: string) =>
      msg('identify', { messageId: undefined, timestamp: undefined, traits: { plan } });
    const idAt = (plan: string, iso: string) => {
      const out = ingestSegmentMessage(identify(plan), 0, at(iso), { prefix: '' });
      if (isSegmentRejection(out) || isNoOp(out)) throw new Error('not accepted');
      return out.event.eventId;
    };
    const first = idAt('pro', '2026-06-01T11:59:00.000Z');
    expect(idAt('free', '2026-06-01T11:59:30.000Z')).not.toBe(first);
    // pro → free → pro: the third is a new event, not a repeat of the first.
    expect(idAt('pro', '2026-06-01T11:59:50.000Z')).not.toBe(first);
    expect(idAt('pro', '2026-06-01T11:59:00.000Z')).toBe(first);
    // A plain link (no traits) stays one event however often it is sent.
    const link = msg('identify', { messageId: undefined, timestamp: undefined });
    const linkAt = (iso: string) => {
      const out = ingestSegmentMessage(link, 0, at(iso), { prefix: '' });
      if (isSegmentRejection(out) || isNoOp(out)) throw new Error('not accepted');
      return out.event.eventId;
    };
    expect(linkAt('2026-06-01T11:59:10.000Z')).toBe(linkAt('2026-06-01T11:59:40.000Z'));
  });

  it('accepts numeric ids, null ids and unknown fields as the SDKs send them', () => {
    // analytics.js sends userId: null before identify; some server libraries send numbers.
    const anonymous = accepted(msg('page', { userId: null, context: consentFor('a1') }));
    expect(anonymous).toMatchObject({ personKey: 'a1', anonymousId: 'a1' });
    expect(anonymous.userId).toBeUndefined();
    expect(
      accepted(msg('track', { event: 'X', userId: 12345, context: consentFor('12345') })).personKey,
    ).toBe('12345');
    expect(
      accepted(msg('track', { event: 'X', writeKey: 'k', _metadata: { bundled: [] }, options: {} })).type,
    ).toBe('custom');
  });

  it('merges the batch context under the message context', () => {
    const event = accepted(track('X', {}, { context: { campaign: { name: 'own' } } }), {
      batch: { context: { ...consentFor('u1'), device: { type: 'android' } } },
    });
    expect(event).toMatchObject({ campaignId: 'own', deviceType: 'mobile' });
  });
});

describe('Segment bad input', () => {
  it('refuses messages without any id, naming the field', () => {
    for (const m of [
      msg('track', { event: 'X', userId: undefined, anonymousId: undefined }),
      msg('page', { userId: null, anonymousId: '' }),
    ])
      expect(rejected(m)).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: 'userId', message: 'userId or anonymousId is required' }],
      });
    expect(rejected({ type: 'alias', previousId: 'a' })).toMatchObject({ errors: [{ path: 'userId' }] });
    expect(rejected({ type: 'alias', userId: 'u1' }).errors).toEqual([
      { path: 'previousId', message: 'Required' },
    ]);
    expect(rejected(msg('group', { groupId: undefined })).errors).toEqual([
      { path: 'groupId', message: 'Required' },
    ]);
  });

  it('refuses wrong types with the path of each offending field, prefixed in a batch', () => {
    expect(rejected(msg('track', { event: undefined })).errors).toEqual([
      { path: 'event', message: 'Required' },
    ]);
    expect(rejected(msg('track', { event: 42 })).errors[0]?.path).toBe('event');
    expect(rejected(msg('track', { event: 'X', properties: 'nope' })).errors[0]?.path).toBe('properties');
    expect(rejected(msg('track', { event: 'X', userId: { id: 1 } })).errors[0]?.path).toBe('userId');
    expect(rejected(msg('page', { timestamp: 'yesterday' })).errors[0]?.path).toBe('timestamp');
    expect(rejected(msg('page', { context: 'web' })).errors[0]?.path).toBe('context');
    expect(
      rejected(msg('track', { event: 'X', properties: { campaignId: { id: 7 } } })).errors[0]?.path,
    ).toBe('properties.campaignId');
    expect(rejected({ ...msg('track', { event: 'X' }), type: 'hover' }).errors).toEqual([
      { path: 'type', message: 'Expected one of track, identify, page, screen, alias, group' },
    ]);
    // A message sent to another type's route.
    expect(rejected(msg('page'), { type: 'track' }).errors[0]?.path).toBe('type');
    expect(rejected('not a message', { prefix: 'batch.4.' })).toMatchObject({
      index: 0,
      errors: [{ path: 'batch.4' }],
    });
    expect(rejected(msg('track', { event: undefined }), { prefix: 'batch.2.' }).errors[0]?.path).toBe(
      'batch.2.event',
    );
  });

  it('refuses an oversized message with payload_too_large', () => {
    const big = track('X', Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((k) => [k, 'y'.repeat(7000)])));
    expect(rejected(big)).toMatchObject({ code: 'payload_too_large', errors: [{ path: '' }] });
    // Multi-byte characters count as bytes.
    expect(rejected(track('X', { a: 'é'.repeat(6000), b: 'é'.repeat(6000), c: 'é'.repeat(5000) })).code).toBe(
      'payload_too_large',
    );
  });

  it('refuses events outside the time window and personal data in properties', () => {
    expect(rejected(track('X', {}, { originalTimestamp: '2026-06-03T12:00:00Z' })).errors).toEqual([
      { path: 'originalTimestamp', message: 'More than 24 h in the future' },
    ]);
    expect(rejected(track('X', {}, { timestamp: '2026-01-01T00:00:00Z' })).errors[0]?.path).toBe('timestamp');
    expect(rejected(track('X', { contact: 'ann@example.com' })).errors[0]?.path).toBe('properties.contact');
  });

  it('refuses messages without valid consent for their ids', () => {
    expect(rejected(track('X', {}, { context: {} }))).toMatchObject({
      code: 'consent_required',
      errors: [{ path: 'context.consent.token' }],
    });
    expect(rejected(track('X', {}, { context: consentFor('someone-else') })).code).toBe('consent_invalid');
    expect(rejected(track('X', {}, { context: { consent: { token: 'forged' } } })).code).toBe(
      'consent_invalid',
    );
    // The header token stands in when the message carries none.
    const withHeader = ingestSegmentMessage(
      track('X', {}, { context: {} }),
      0,
      { ...ctx, consent: { key, headerToken: token('a1') } },
      { prefix: '' },
    );
    expect(isSegmentRejection(withHeader)).toBe(false);
  });
});

describe('quarantine payloads and settings', () => {
  it('keeps a rejected message without its IP, traits, write key or consent token', () => {
    const payload = JSON.parse(
      quarantinePayload({
        type: 'identify',
        writeKey: 'wk',
        traits: { email: 'a@b.test' },
        context: { ip: '1.2.3.4', consent: { token: 't', categoryPreferences: { a: true } }, locale: 'en' },
      }),
    );
    expect(payload).toEqual({
      type: 'identify',
      context: { locale: 'en', consent: { categoryPreferences: { a: true } } },
    });
  });

  it('points the SDK settings back at this host', () => {
    const settings = segmentSettings('wk_1', 'pulse.example.com', 'https');
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: 'wk_1',
      apiHost: 'pulse.example.com/v1',
    });
    expect(settings).toMatchObject({
      plan: expect.any(Object),
      edgeFunction: {},
      metrics: { sampleRate: 0 },
    });
  });
});
