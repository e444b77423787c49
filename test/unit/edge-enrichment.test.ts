/**
 * Clean data at the edge, the pure half: user agents (a corpus of bots and real devices), UTM
 * attribution (a corpus of landing URLs), countries (a MaxMind DB written here), tracking plans,
 * and what the envelope keeps of all of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attributionFromSegment,
  attributionFromUrl,
  DEFAULT_UTM_MAPPING,
  parseUtmMapping,
} from '../../functions/core/edge/campaign-attribution';
import { type EdgeContext, PLAIN_EDGE } from '../../functions/core/edge/enrich';
import { countryDatabase, countryFromHeader } from '../../functions/core/edge/geo';
import { schemaErrors, TrackingPlans } from '../../functions/core/edge/tracking-plan';
import { parseUserAgent, userAgentCache } from '../../functions/core/edge/user-agent';
import type { DoorContext } from '../../functions/core/envelope';
import { ingestOne, isRejection } from '../../functions/core/ingest';
import { ingestSegmentMessage, isSegmentRejection } from '../../functions/core/segmentio/ingest-message';
import { validEvent } from '../support/events';
import { countryMmdb } from '../support/mmdb';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/edge', name), 'utf8')) as T;

const corpus = fixture<{
  bots: string[];
  clients: string[];
  devices: { ua: string; deviceType: string; os: string; browser: string }[];
}>('user-agents.json');

describe('user agents', () => {
  it.each(corpus.bots)('flags the bot %s', (ua) => {
    expect(parseUserAgent(ua).bot).toBe(true);
  });

  // The HTTP clients SDKs and servers send events with (Android's okhttp, Segment's
  // analytics-kotlin, Node's fetch): isbot matches them, but in an event API they carry people.
  it.each(corpus.clients)('does not flag the HTTP client %s', (ua) => {
    expect(parseUserAgent(ua).bot).toBe(false);
  });

  it.each(corpus.devices)('parses a person’s device: $os $browser ($deviceType)', (d) => {
    expect(parseUserAgent(d.ua)).toEqual({
      bot: false,
      deviceType: d.deviceType,
      os: d.os,
      browser: d.browser,
    });
  });

  it('keeps names only, bounded, and remembers what it parsed', () => {
    const parse = userAgentCache(2);
    const ua = corpus.devices[0]?.ua as string;
    expect(parse(ua)).toBe(parse(ua));
    expect(parse(undefined)).toBeUndefined();
    expect(parse('   ')).toBeUndefined();
    const long = parseUserAgent(`Mozilla/5.0 ${'x'.repeat(10_000)}`);
    for (const v of [long.os, long.browser]) expect((v ?? '').length).toBeLessThanOrEqual(64);
  });
});

describe('campaign attribution', () => {
  const urls = fixture<{ url: string; expected: Record<string, string> | null }[]>('utm-urls.json');

  it.each(urls)('$url', ({ url, expected }) => {
    expect(attributionFromUrl(url) ?? null).toEqual(expected);
  });

  it("reads Segment's context.campaign", () => {
    expect(
      attributionFromSegment({ name: 'spring', source: 'news', medium: 'email', content: 'a', term: 't' }),
    ).toEqual({ campaignId: 'spring', source: 'news', medium: 'email', content: 'a', term: 't' });
    expect(attributionFromSegment({ id: 'c-1' })).toEqual({ campaignId: 'c-1' });
    expect(attributionFromSegment('spring')).toBeUndefined();
    expect(attributionFromSegment({ name: 42 })).toBeUndefined();
  });

  it('takes a mapping per deployment, field by field, and refuses a malformed one', () => {
    const mapping = parseUtmMapping(
      JSON.stringify({ url: { campaignId: ['cmp'], source: ['ref', 'utm_source'] } }),
    );
    expect(mapping.url.medium).toEqual(DEFAULT_UTM_MAPPING.url.medium);
    expect(attributionFromUrl('/?cmp=x&ref=partner&utm_medium=cpc&utm_campaign=ignored', mapping)).toEqual({
      campaignId: 'x',
      source: 'partner',
      medium: 'cpc',
    });
    expect(parseUtmMapping(undefined)).toBe(DEFAULT_UTM_MAPPING);
    expect(() => parseUtmMapping('{"url":{"channel":["x"]}}')).toThrow('utmMapping.url.channel');
    expect(() => parseUtmMapping('{"segment":{"source":"x"}}')).toThrow('list of parameter names');
  });
});

describe('country', () => {
  it('trusts CloudFront’s header only as a country code', () => {
    expect(countryFromHeader('de')).toBe('DE');
    expect(countryFromHeader('XX')).toBeUndefined();
    expect(countryFromHeader('Germany')).toBeUndefined();
    expect(countryFromHeader(undefined)).toBeUndefined();
  });

  it('looks addresses up in a MaxMind DB, and answers nothing for the rest', () => {
    const lookup = countryDatabase(countryMmdb({ '81.2.69.0/24': 'GB', '89.160.20.0/22': 'SE' }));
    expect(lookup('81.2.69.142')).toBe('GB');
    expect(lookup('89.160.23.1')).toBe('SE');
    expect(lookup('89.160.24.1')).toBeUndefined();
    expect(lookup('10.0.0.1')).toBeUndefined();
    expect(lookup('not an address')).toBeUndefined();
    expect(lookup(undefined)).toBeUndefined();
  });
});

describe('tracking plans', () => {
  const schema = {
    type: 'object',
    properties: {
      sku: { type: 'string' },
      price: { type: 'number', minimum: 0 },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['sku'],
    additionalProperties: false,
  };
  const plans = (mode: 'warn' | 'omit' | 'block') =>
    new TrackingPlans().use([{ name: 'Order Placed', mode, schema, updatedAt: '2026-01-01T00:00:00.000Z' }]);

  it('refuses a schema ajv cannot compile, naming why', () => {
    expect(schemaErrors(schema)).toBeUndefined();
    expect(schemaErrors({ type: 'nonsense' })).toMatch(/Not a valid JSON Schema/);
    expect(schemaErrors([])).toBe('Expected a JSON Schema object');
  });

  it('block: rejects with the schema path; warn: keeps the event; omit: drops the offending properties', () => {
    const bad = { sku: 'a', price: -1, tags: ['x', 3], coupon: 'SAVE' };
    const blocked = plans('block').check('Order Placed', bad);
    expect(blocked.kind).toBe('block');
    if (blocked.kind !== 'block') return;
    expect(blocked.errors.map((e) => e.path).sort()).toEqual([
      'properties',
      'properties.price',
      'properties.tags.1',
    ]);
    expect(blocked.errors.find((e) => e.path === 'properties.price')?.message).toContain(
      '#/properties/price/minimum',
    );
    // Violations say where and why, never the values.
    expect(JSON.stringify(blocked.violations)).not.toMatch(/SAVE|-1/);
    expect(blocked.violations.map((v) => v.path)).toContain('/tags/*');

    const warned = plans('warn').check('Order Placed', bad);
    expect(warned).toMatchObject({ kind: 'warn', properties: bad });
    const omitted = plans('omit').check('Order Placed', bad);
    expect(omitted).toMatchObject({ kind: 'omit', properties: { sku: 'a' } });
    expect(plans('block').check('Order Placed', { sku: 'a', price: 2 })).toEqual({ kind: 'ok' });
    expect(plans('block').check('Other', bad)).toEqual({ kind: 'none' });
  });

  it('compiles a schema once, and again only when its entry changes', () => {
    const p = plans('warn');
    const first = p.check('Order Placed', { price: 'x' });
    p.use([{ name: 'Order Placed', mode: 'warn', schema, updatedAt: '2026-01-01T00:00:00.000Z' }]);
    expect(p.check('Order Placed', { price: 'x' })).toEqual(first);
    p.use([
      {
        name: 'Order Placed',
        mode: 'warn',
        schema: { type: 'object' },
        updatedAt: '2026-01-02T00:00:00.000Z',
      },
    ]);
    expect(p.check('Order Placed', { price: 'x' })).toEqual({ kind: 'ok' });
  });
});

describe('the envelope at the edge', () => {
  const chrome = corpus.devices.find((d) => d.os === 'Android')?.ua as string;
  const edge = (overrides: Partial<EdgeContext> = {}): EdgeContext => ({
    ...PLAIN_EDGE,
    agent: parseUserAgent(chrome),
    country: 'DE',
    parseAgent: userAgentCache(),
    ...overrides,
  });
  const ctx = (e: EdgeContext): DoorContext => ({
    sourceId: 'src-1',
    receivedAt: new Date(),
    horizonDays: 30,
    door: 'api',
    edge: e,
  });

  it('fills the device type the client omitted, keeps parsed fields only, never the user agent or address', () => {
    const { deviceType: _d, ...event } = validEvent('view', {
      properties: { url: '/?utm_source=news&utm_medium=email' },
    });
    const result = ingestOne(event, 0, ctx(edge()), { prefix: '' });
    if (isRejection(result)) throw new Error(JSON.stringify(result));
    expect(result.event).toMatchObject({
      deviceType: 'mobile',
      os: 'Android',
      browser: 'Chrome 120',
      country: 'DE',
    });
    expect(result.event.bot).toBeUndefined();
    // An explicit campaign wins: no attribution.
    expect(result.event.campaignId).toBe('spring-sale');
    expect(result.event.utm).toBeUndefined();
    expect(result.json).not.toContain('Mozilla');
    const told = ingestOne(validEvent('view', { deviceType: 'tv' }), 0, ctx(edge()), { prefix: '' });
    expect(!isRejection(told) && told.event.deviceType).toBe('tv');
  });

  it('marks a bot’s event by its user agent', () => {
    const result = ingestOne(
      validEvent('click'),
      0,
      ctx(
        edge({
          agent: parseUserAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
        }),
      ),
      {
        prefix: '',
      },
    );
    expect(!isRejection(result) && result.event.bot).toBe('agent');
  });

  it("attributes a Segment message without a campaign from its page's UTM parameters, its own user agent and address", () => {
    const lookup = countryDatabase(countryMmdb({ '81.2.69.0/24': 'GB' }));
    const message = {
      type: 'page',
      messageId: 'm-1',
      anonymousId: 'a-1',
      name: 'Landing',
      timestamp: new Date().toISOString(),
      context: {
        userAgent: corpus.devices[0]?.ua,
        ip: '81.2.69.10',
        page: {
          url: 'https://shop.example/?utm_campaign=spring&utm_source=news&utm_medium=email&utm_content=hero',
        },
      },
    };
    const out = ingestSegmentMessage(
      message,
      0,
      { ...ctx(edge({ countryOf: lookup })), door: 'segment' },
      { prefix: '' },
    );
    if (isSegmentRejection(out) || 'noop' in out) throw new Error(JSON.stringify(out));
    expect(out.event).toMatchObject({
      campaignId: 'spring',
      utm: { source: 'news', medium: 'email', content: 'hero' },
      deviceType: 'mobile',
      os: 'iOS',
      country: 'GB',
    });
    expect(out.json).not.toContain('81.2.69.10');
    expect(out.json).not.toContain('Mozilla');
  });

  it('applies the tracking plan at both doors: block names the path, omit drops, warn keeps and tells', () => {
    const schema = { type: 'object', properties: { price: { type: 'number' } } };
    const withPlan = (mode: 'warn' | 'omit' | 'block') =>
      ctx(edge({ plans: new TrackingPlans().use([{ name: 'Order Placed', mode, schema, updatedAt: 't' }]) }));
    const custom = validEvent('custom', { name: 'Order Placed', properties: { price: 'free', sku: 'a' } });
    const blocked = ingestOne(custom, 0, withPlan('block'), { prefix: '' });
    expect(isRejection(blocked) && blocked.errors[0]?.path).toBe('properties.price');
    const omitted = ingestOne({ ...custom, properties: { price: 'free', sku: 'a' } }, 0, withPlan('omit'), {
      prefix: '',
    });
    expect(!isRejection(omitted) && omitted.event.properties).toEqual({ sku: 'a' });
    const warned = ingestOne({ ...custom, properties: { price: 'free' } }, 0, withPlan('warn'), {
      prefix: '',
    });
    expect(!isRejection(warned) && warned.violations?.[0]).toMatchObject({
      event: 'Order Placed',
      keyword: 'type',
    });

    const track = {
      type: 'track',
      event: 'Order Placed',
      userId: 'u-1',
      properties: { price: 'free' },
      timestamp: new Date().toISOString(),
    };
    const segment = ingestSegmentMessage(
      track,
      0,
      { ...withPlan('block'), door: 'segment' },
      { prefix: 'batch.0.' },
    );
    expect(isSegmentRejection(segment) && segment.errors[0]?.path).toBe('batch.0.properties.price');
  });
});
