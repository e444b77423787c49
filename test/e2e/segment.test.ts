/**
 * Segment-compatible ingestion end to end: the real `@segment/analytics-node` client pointed at
 * the local stack, and the exact requests analytics.js and the mobile SDKs send (paths, headers,
 * gzip, body fields, as their sources build them) replayed against it. The events must reach the
 * metrics endpoint once each, with the right types and campaigns.
 */
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { kinesisClient } from '../../lib/local/emulators';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { readStream } from '../support/kinesis';

let e2e: E2E;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  e2e = await startE2E();
  for (const subject of ['node-user', 'node-anon', 'ajs-anon', 'kotlin-anon', 'swift-user', 'mixed-user'])
    tokens[subject] = await e2e.consent(subject);
});
afterAll(() => e2e?.close());

const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });
const basic = () => `Basic ${Buffer.from(`${e2e.writeKey}:`).toString('base64')}`;
const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
const consent = (subject: string) => ({ consent: { token: tokens[subject] } });

/** The campaign's report once it has `events` events (the consumer is asynchronous). */
const report = (campaignId: string, events: number) =>
  eventually(async () => {
    const res = await e2e.call(`/api/metrics/campaigns/${campaignId}?granularity=hour`, {
      headers: analyst(),
    });
    const body = await json(res);
    expect([res.status, body.events]).toEqual([200, events]);
    return body;
  });

const streamEvents = async () =>
  (await readStream(kinesisClient(e2e.stack.endpoints.kinesis, 'us-east-1'), e2e.stack.names.stream)).map(
    (r) => JSON.parse(r.data) as Record<string, unknown>,
  );

const post = (path: string, body: string | Buffer, headers: Record<string, string>) =>
  fetch(`${e2e.url}${path}`, { method: 'POST', headers, body });

describe('@segment/analytics-node against Pulse', () => {
  it('track, identify, page and a batch flush arrive once each, with types and campaigns', async () => {
    const analytics = new Analytics({
      writeKey: e2e.writeKey,
      host: e2e.url,
      flushAt: 3,
      flushInterval: 50,
      maxRetries: 1,
    });
    const statuses: number[] = [];
    const errors: unknown[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.on('error', (e) => errors.push(e));
    const context = {
      ...consent('node-user'),
      campaign: { name: 'seg-node', source: 'e2e', medium: 'test' },
    };

    analytics.identify({
      userId: 'node-user',
      anonymousId: 'node-anon',
      traits: { plan: 'trait-gold-plan' },
      context,
    });
    analytics.track({
      userId: 'node-user',
      event: 'Product Clicked',
      properties: { product_id: 'sku-1', campaignId: 'seg-node' },
      context,
    });
    analytics.page({ userId: 'node-user', name: 'Pricing', properties: { path: '/pricing' }, context });
    analytics.track({
      anonymousId: 'node-anon',
      event: 'Video Playback Started',
      properties: { video_id: 'v-1', position: 0, total_length: 30 },
      context: {
        ...consent('node-anon'),
        campaign: { name: 'seg-node', source: 'e2e', medium: 'test' },
        device: { type: 'ios' },
      },
    });
    // The same message twice (a client retry): counted once.
    for (let i = 0; i < 2; i++)
      analytics.track({
        userId: 'node-user',
        messageId: 'node-order-1',
        event: 'Order Completed',
        properties: { revenue: 42, currency: 'EUR' },
        context,
      });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    // Batched by the client (flushAt 3): every request answered 200.
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(new Set(statuses)).toEqual(new Set([200]));

    const body = await report('seg-node', 4);
    expect(body.totals).toMatchObject({ click: 1, view: 1, 'video-play': 1, conversion: 1 });
    expect(body.byChannel).toEqual({ server: 4 });
    expect(body.byDeviceType).toEqual({ other: 3, mobile: 1 });

    const onStream = (await streamEvents()).filter(
      (e) => e.door === 'segment' && e.personKey === 'node-user',
    );
    const identify = onStream.filter((e) => e.type === 'identify');
    expect(identify).toHaveLength(1);
    expect(identify[0]).toMatchObject({
      userId: 'node-user',
      anonymousId: 'node-anon',
      properties: {},
      data: {},
    });
    expect(JSON.stringify(identify[0])).not.toContain('trait-gold-plan');
    expect(onStream.filter((e) => e.eventId === 'node-order-1')).toHaveLength(1);
    expect(onStream.find((e) => e.eventId === 'node-order-1')).toMatchObject({
      data: { value: 42, currency: 'EUR', conversionType: 'order' },
    });
  });
});

describe('requests as the SDKs send them, replayed', () => {
  it('analytics.js: /v1/p and /v1/t as text/plain with the write key in the body, and a /v1/b batch', async () => {
    // What analytics-next's normalize() and fetch-dispatcher send: no Authorization header.
    const base = (type: string, messageId: string) => ({
      type,
      messageId,
      anonymousId: 'ajs-anon',
      userId: null,
      timestamp: ago(5),
      sentAt: ago(4),
      writeKey: e2e.writeKey,
      integrations: {},
      context: {
        page: {
          path: '/spring',
          search: '?utm_campaign=seg-ajs',
          url: 'https://shop.test/spring?utm_campaign=seg-ajs',
        },
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)',
        locale: 'en-US',
        library: { name: 'analytics.js', version: 'next-1.70.0' },
        campaign: { name: 'seg-ajs', source: 'newsletter' },
        ...consent('ajs-anon'),
      },
      _metadata: { bundled: ['Segment.io'], unbundled: [], bundledIds: [] },
    });
    const headers = { 'content-type': 'text/plain' };
    const page = await post(
      '/v1/p',
      JSON.stringify({
        ...base('page', 'ajs-next-p1'),
        name: 'Spring',
        properties: { path: '/spring', title: 'Spring' },
      }),
      headers,
    );
    expect([page.status, await page.json()]).toEqual([200, { success: true }]);
    const track = await post(
      '/v1/t',
      JSON.stringify({
        ...base('track', 'ajs-next-t1'),
        event: 'Promotion Clicked',
        properties: { promotion_id: 'hero' },
      }),
      headers,
    );
    expect([track.status, await track.json()]).toEqual([200, { success: true }]);
    // The batching strategy: per-event sentAt removed, writeKey and sentAt on the batch.
    const { sentAt: _s, ...shared } = base('track', 'ajs-next-b1');
    const batch = await post(
      '/v1/b',
      JSON.stringify({
        writeKey: e2e.writeKey,
        batch: [{ ...shared, event: 'Product Shared', properties: { share_via: 'twitter' } }],
        sentAt: new Date().toISOString(),
      }),
      headers,
    );
    expect([batch.status, await batch.json()]).toEqual([200, { success: true }]);

    const body = await report('seg-ajs', 3);
    expect(body.totals).toMatchObject({ view: 1, click: 1, share: 1 });
    expect(body.byChannel).toEqual({ web: 3 });
  });

  it('analytics-kotlin and analytics-swift: /v1/b with gzip as text/plain, batch + sentAt + writeKey', async () => {
    const sentAt = new Date().toISOString();
    const kotlinBatch = {
      batch: [
        {
          type: 'screen',
          name: 'Home',
          category: '',
          properties: { campaignId: 'seg-mobile' },
          messageId: 'k-1',
          anonymousId: 'kotlin-anon',
          integrations: {},
          context: {
            app: { name: 'Shop', version: '1.0', build: '1' },
            device: { id: 'dev-1', manufacturer: 'Google', model: 'Pixel 8', type: 'android' },
            os: { name: 'Android', version: '14' },
            library: { name: 'analytics-kotlin', version: '1.16.0' },
            ip: '203.0.113.7',
            campaign: { name: 'seg-mobile' },
            ...consent('kotlin-anon'),
          },
          timestamp: ago(30),
        },
        {
          type: 'track',
          event: 'Video Playback Started',
          properties: { content_asset_ids: ['clip-7'], position: 3, total_length: 60 },
          messageId: 'k-2',
          anonymousId: 'kotlin-anon',
          integrations: {},
          context: {
            device: { type: 'android', model: 'Pixel Tablet' },
            os: { name: 'Android' },
            campaign: { name: 'seg-mobile' },
            ...consent('kotlin-anon'),
          },
          timestamp: ago(20),
        },
      ],
      sentAt,
      writeKey: e2e.writeKey,
    };
    // analytics-kotlin: Content-Type text/plain, Content-Encoding gzip, User-Agent, no auth header.
    const kotlin = await post('/v1/b', gzipSync(JSON.stringify(kotlinBatch)), {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
      'user-agent': 'analytics-kotlin/1.16.0',
    });
    expect([kotlin.status, await kotlin.json()]).toEqual([200, { success: true }]);

    const swiftBatch = {
      batch: [
        {
          type: 'track',
          event: 'Order Completed',
          properties: { total: 19.99, currency: 'USD', campaignId: 'seg-mobile' },
          messageId: 's-1',
          userId: 'swift-user',
          anonymousId: 'swift-anon',
          integrations: {},
          context: {
            device: { type: 'ios', model: 'iPhone15,2', manufacturer: 'Apple' },
            os: { name: 'iOS', version: '17.4' },
            library: { name: 'analytics-swift', version: '1.5.0' },
            ...consent('swift-user'),
          },
          timestamp: ago(10),
        },
      ],
      sentAt,
      writeKey: e2e.writeKey,
    };
    // Older analytics-swift / analytics-android: gzip not announced, Basic auth, text/plain.
    const legacy = await post('/v1/b', gzipSync(JSON.stringify(swiftBatch)), {
      'content-type': 'text/plain',
      authorization: basic(),
      'user-agent': 'analytics-ios/1.5.0',
    });
    expect([legacy.status, await legacy.json()]).toEqual([200, { success: true }]);
    // Current analytics-swift: JSON, not compressed, the key only in the body; a resend of s-1.
    const swift = await post('/v1/b', JSON.stringify(swiftBatch), {
      'content-type': 'application/json; charset=utf-8',
      'accept-encoding': 'gzip',
    });
    expect(swift.status).toBe(200);

    const body = await report('seg-mobile', 3);
    expect(body.totals).toMatchObject({ view: 1, 'video-play': 1, conversion: 1 });
    expect(body.byChannel).toEqual({ android: 2, ios: 1 });
    expect(body.byDeviceType).toEqual({ mobile: 2, tablet: 1 });
    expect(body.uniqueUsers).toBe(2);
    const stored = JSON.stringify((await streamEvents()).filter((e) => e.door === 'segment'));
    expect(stored).not.toContain('203.0.113.7');
  });

  it('serves the settings the mobile SDKs fetch, pointing them back at this host', async () => {
    const res = await fetch(`${e2e.url}/v1/projects/${e2e.writeKey}/settings`);
    expect(res.status).toBe(200);
    const settings = await json(res);
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: e2e.writeKey,
      apiHost: `${new URL(e2e.url).host}/v1`,
    });
    expect(settings).toMatchObject({ plan: expect.any(Object), edgeFunction: {} });
    const unknown = await fetch(`${e2e.url}/v1/projects/pk_unknown/settings`);
    expect(unknown.status).toBe(401);
    const other = await fetch(`${e2e.url}/v1/projects/pk_unknown/settings`, {
      headers: { authorization: basic() },
    });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('Segment answers and bad input', () => {
  const send = (path: string, body: unknown) =>
    post(path, JSON.stringify(body), { 'content-type': 'application/json', authorization: basic() });
  const message = (fields: Record<string, unknown> = {}) => ({
    type: 'track',
    event: 'Thing Happened',
    userId: 'mixed-user',
    timestamp: ago(1),
    context: consent('mixed-user'),
    ...fields,
  });

  it('accepts the valid messages of a batch, lists and quarantines the others (consent refusals only counted)', async () => {
    const res = await send('/v1/batch', {
      batch: [
        message({ messageId: 'mix-ok' }),
        message({
          messageId: 'mix-bad',
          event: undefined,
          context: { ...consent('mixed-user'), ip: '198.51.100.4' },
        }),
        message({ messageId: 'mix-noconsent', context: {} }),
        { type: 'hover', messageId: 'mix-type', userId: 'mixed-user' },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      success: true,
      accepted: 1,
      rejected: [
        {
          index: 1,
          messageId: 'mix-bad',
          code: 'validation_failed',
          errors: [{ path: 'batch.1.event', message: 'Required' }],
        },
        {
          index: 2,
          messageId: 'mix-noconsent',
          code: 'consent_required',
          errors: [expect.objectContaining({ path: 'batch.2.context.consent.token' })],
        },
        {
          index: 3,
          messageId: 'mix-type',
          code: 'validation_failed',
          errors: [expect.objectContaining({ path: 'batch.3.type' })],
        },
      ],
    });
    const Items = await new QuarantineRepository(
      documentClient(),
      e2e.stack.names.tables.quarantine,
    ).exportPeople(['mixed-user']);
    expect(Items.map((i) => i.position).sort()).toEqual(['m:mix-bad', 'm:mix-type']);
    const bad = Items.find((i) => i.position === 'm:mix-bad');
    expect(bad?.reason).toContain('batch.1.event');
    expect(bad?.payload).not.toContain('198.51.100.4');
    expect(bad?.payload).not.toContain(tokens['mixed-user']);

    const none = await send('/v1/batch', { batch: [message({ userId: undefined })] });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'batch.0.userId' }],
    });
    expect((await send('/v1/batch', { batch: [] })).status).toBe(400);
    expect((await send('/v1/batch', { events: [] })).status).toBe(400);
  });

  it('quarantines a 450 KB message of a batch cut, with its digest, and accepts the valid one', async () => {
    const big = message({ messageId: 'mix-big', properties: { blob: 'x'.repeat(450 * 1024) } });
    const res = await send('/v1/batch', { batch: [message({ messageId: 'mix-big-ok' }), big] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      accepted: 1,
      rejected: [{ index: 1, messageId: 'mix-big', code: 'payload_too_large' }],
    });
    const entries = await new QuarantineRepository(
      documentClient(),
      e2e.stack.names.tables.quarantine,
    ).exportPeople(['mixed-user']);
    expect(entries.find((i) => i.position === 'm:mix-big')).toMatchObject({ truncated: true });
  });

  it('refuses a message nested 5,000 levels deep with a 400, and a batch of 4,500 messages with a 413', async () => {
    // Written as text: JSON.stringify itself overflows the stack at this depth (as Pulse did).
    const deep = `${'{"d":'.repeat(5000)}{}${'}'.repeat(5000)}`;
    const withDeep = (m: Record<string, unknown>) =>
      JSON.stringify({ ...m, properties: { deep: '@' } }).replace('"@"', deep);
    const headers = { 'content-type': 'application/json', authorization: basic() };
    const nested = await post('/v1/track', withDeep(message()), headers);
    expect(nested.status).toBe(400);
    expect((await json(nested)).code).toBe('validation_failed');
    const inBatch = await post(
      '/v1/batch',
      `{"batch":[${JSON.stringify(message({ messageId: 'deep-ok' }))},${withDeep(message())}]}`,
      headers,
    );
    expect(inBatch.status).toBe(200);
    expect((await json(inBatch)).rejected).toMatchObject([{ index: 1, code: 'validation_failed' }]);
    const many = Array.from({ length: 4500 }, (_, i) => ({ type: 'track', event: 'x', userId: `u${i}` }));
    const tooMany = await send('/v1/batch', { batch: many });
    expect(tooMany.status).toBe(413);
    expect(await json(tooMany)).toMatchObject({
      code: 'payload_too_large',
      limit: 'batch',
      maxMessages: 500,
    });
  });

  it('answers a lone invalid message 400 naming it, without consent 403, and Segment limits 413', async () => {
    const invalid = await send('/v1/track', message({ event: 42 }));
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toBe('application/problem+json');
    expect((await json(invalid)).errors[0].path).toBe('event');
    const noId = await send('/v1/identify', { traits: { a: 1 }, context: consent('mixed-user') });
    expect([noId.status, (await json(noId)).errors[0].path]).toEqual([400, 'userId']);
    const noConsent = await send('/v1/page', message({ type: 'page', context: {} }));
    expect([noConsent.status, (await json(noConsent)).code]).toEqual([403, 'consent_required']);
    const forged = await send(
      '/v1/s',
      message({ type: 'screen', context: { consent: { token: 'forged' } } }),
    );
    expect([forged.status, (await json(forged)).code]).toEqual([403, 'consent_invalid']);

    const bigMessage = await send(
      '/v1/track',
      message({
        properties: Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((k) => [k, 'x'.repeat(7000)])),
      }),
    );
    expect(bigMessage.status).toBe(413);
    expect(await json(bigMessage)).toMatchObject({ code: 'payload_too_large', limit: 'message' });
    const bigRequest = await send('/v1/batch', {
      batch: Array.from({ length: 80 }, (_, i) =>
        message({ messageId: `big-${i}`, properties: { blob: 'x'.repeat(7000) } }),
      ),
    });
    expect(bigRequest.status).toBe(413);
    expect(await json(bigRequest)).toMatchObject({ code: 'payload_too_large', limit: 'body' });
    const garbage = await post('/v1/t', '{"type": "track", ', {
      'content-type': 'text/plain',
      authorization: basic(),
    });
    expect([garbage.status, (await json(garbage)).code]).toEqual([400, 'invalid_json']);
    const noKey = await post('/v1/t', JSON.stringify(message()), { 'content-type': 'text/plain' });
    expect(noKey.status).toBe(401);
    const badBodyKey = await post('/v1/t', JSON.stringify({ ...message(), writeKey: 'pk_nope' }), {});
    expect(badBodyKey.status).toBe(401);
  });

  it('accepts an alias, a group and an identify that links nothing', async () => {
    for (const [path, body] of [
      ['/v1/alias', { previousId: 'mixed-old', userId: 'mixed-user', context: consent('mixed-user') }],
      [
        '/v1/g',
        { userId: 'mixed-user', groupId: 'acme', traits: { name: 'Acme' }, context: consent('mixed-user') },
      ],
      ['/v1/i', { userId: 'mixed-user', traits: { name: 'Mixed' }, context: consent('mixed-user') }],
    ] as const) {
      const res = await send(path, body);
      expect([path, res.status, await res.json()]).toEqual([path, 200, { success: true }]);
    }
    const events = await eventually(async () => {
      const found = (await streamEvents()).filter(
        (e) => e.door === 'segment' && e.personKey === 'mixed-user',
      );
      expect(found.length).toBeGreaterThanOrEqual(3);
      return found;
    });
    expect(events.find((e) => e.type === 'identify')).toMatchObject({
      anonymousId: 'mixed-old',
      userId: 'mixed-user',
    });
    expect(
      events.find((e) => e.type === 'custom' && (e.data as { name?: string }).name === 'group'),
    ).toMatchObject({
      properties: { groupId: 'acme' },
    });
  });

  it('serves the OpenAPI document of every route', async () => {
    const res = await fetch(`${e2e.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: e2e.url }]);
    expect(doc.paths['/v1/b'].post.operationId).toBe('segment_b');
  });
});
