import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinesisClient } from '../../lib/local/emulators';
import { routes } from '../../lib/routes';
import { type E2E, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';
import { readStream } from '../support/kinesis';

let e2e: E2E;
let token: string;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [] });
  // validEvent() is user-1's: one consent token covers these tests' events.
  token = await e2e.consent('user-1');
});
afterAll(() => e2e?.close());

const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  e2e.call(path, {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token, ...headers },
    json: body,
  });

const streamEvents = async () =>
  (await readStream(kinesisClient(e2e.stack.endpoints.kinesis, 'us-east-1'), e2e.stack.names.stream)).map(
    (r) => ({
      ...r,
      event: JSON.parse(r.data),
    }),
  );

describe('ingestion over HTTP', () => {
  it('accepts one event with 202 and puts the canonical envelope on the stream', async () => {
    const event = validEvent('video-play', { eventId: 'e2e-single-1', properties: { plan: 'pro' } });
    const res = await send('/api/engagement/video-play', { ...event, type: undefined });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, eventIds: ['e2e-single-1'] });
    const onStream = (await streamEvents()).find((r) => r.event.eventId === 'e2e-single-1');
    expect(onStream?.partitionKey).toBe('user-1');
    expect(onStream?.event).toMatchObject({
      v: 1,
      type: 'video-play',
      personKey: 'user-1',
      campaignId: 'spring-sale',
      sourceId: e2e.sourceId,
      data: { videoId: 'v-42', positionSec: 0, durationSec: 30 },
      properties: { plan: 'pro' },
    });
    expect(JSON.stringify(onStream?.event)).not.toMatch(/127\.0\.0\.1|sourceIp/);
  });

  it('accepts a gzip body, announced or not', async () => {
    for (const [i, headers] of ([{ 'content-encoding': 'gzip' }, {}] as Record<string, string>[]).entries()) {
      const body = gzipSync(JSON.stringify({ events: [validEvent('click', { eventId: `gz-${i}` })] }));
      const res = await fetch(`${e2e.url}/api/engagement/events`, {
        method: 'POST',
        headers: {
          'x-api-key': e2e.writeKey,
          'x-consent-token': token,
          'content-type': 'application/json',
          ...headers,
        },
        body,
      });
      expect(res.status).toBe(202);
    }
  });

  it('answers a batch 202, 207 or 400 by what it holds, rejecting by index', async () => {
    const ok = await send('/api/engagement/events', { events: [validEvent('click'), validEvent('share')] });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ accepted: 2 });

    const partial = await send('/api/engagement/events', {
      events: [
        validEvent('view', { eventId: 'p-ok' }),
        { ...validEvent('click'), eventId: 'p-bad', elementId: undefined },
      ],
    });
    expect(partial.status).toBe(207);
    expect(await partial.json()).toEqual({
      accepted: 1,
      eventIds: ['p-ok'],
      rejected: [
        {
          index: 1,
          eventId: 'p-bad',
          code: 'validation_failed',
          errors: [{ path: 'events.1.elementId', message: 'Required' }],
        },
      ],
    });

    const none = await send('/api/engagement/events', { events: [{ type: 'hover' }] });
    expect(none.status).toBe(400);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect(await none.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'events.0.type' }],
    });
  });

  it('enforces the limits with 413 and says which', async () => {
    const many = await send('/api/engagement/events', {
      events: Array.from({ length: 501 }, () => validEvent('click')),
    });
    expect(many.status).toBe(413);
    expect(await many.json()).toMatchObject({ code: 'payload_too_large', limit: 'batch' });
    const huge = await send('/api/engagement/events', {
      events: [validEvent('click', { properties: { x: 'y'.repeat(1_100_000) } })],
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'payload_too_large', limit: 'body' });
    const bomb = await fetch(`${e2e.url}/api/engagement/events`, {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)),
    });
    expect(bomb.status).toBe(413);
  });

  it('answers bad requests with problem+json, never a 500', async () => {
    const cases: [RequestInit & { path?: string }, number, string][] = [
      [{ body: '{"events": [' }, 400, 'invalid_json'],
      [{ body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, 400, 'invalid_encoding'],
      [
        { body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        415,
        'unsupported_media_type',
      ],
      [{ body: '[1,2]' }, 400, 'validation_failed'],
      [{ body: '{"__proto__": {"admin": true}, "events": "x"}' }, 400, 'validation_failed'],
      [{ path: '/api/engagement/hover', body: '{}' }, 404, 'not_found'],
      [{ path: '/api/nope', body: '{}' }, 404, 'not_found'],
    ];
    for (const [init, status, code] of cases) {
      const res = await fetch(`${e2e.url}${init.path ?? '/api/engagement/events'}`, {
        method: 'POST',
        ...init,
        headers: {
          'x-api-key': e2e.writeKey,
          'content-type': 'application/json',
          ...(init.headers as object),
        },
      });
      expect([init.path, res.status]).toEqual([init.path, status]);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
    const wrongMethod = await e2e.call('/api/engagement/click', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('applies the auth matrix to every route', async () => {
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const callers: Record<string, Record<string, string>> = {
      none: {},
      badKey: { 'x-api-key': 'pk_not-a-key' },
      writeKey: { authorization: `Basic ${Buffer.from(`${e2e.writeKey}:`).toString('base64')}` },
      analyst: bearer(e2e.analyst),
      admin: bearer(e2e.admin),
    };
    const allowed: Record<string, string[]> = {
      none: ['none', 'badKey', 'writeKey', 'analyst', 'admin'],
      writeKey: ['writeKey'],
      analyst: ['analyst', 'admin'],
      admin: ['admin'],
    };
    for (const route of routes) {
      const path = route.path.replace(/\{(\w+)\+?\}/g, (_, name) =>
        name === 'type' ? 'click' : `sample-${name}`,
      );
      for (const [caller, headers] of Object.entries(callers)) {
        const res = await e2e.call(path, {
          method: route.method,
          headers,
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { json: {} }),
        });
        const expected = allowed[route.auth]?.includes(caller)
          ? 'pass'
          : caller === 'analyst' && route.auth === 'admin'
            ? 403
            : 401;
        const got = res.status === 401 || res.status === 403 ? res.status : 'pass';
        expect([route.id, caller, got]).toEqual([route.id, caller, expected]);
        expect(res.status).toBeLessThan(500);
      }
    }
  });

  it('refuses a revoked write key', async () => {
    const created = await e2e.call('/api/sources', {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.admin}` },
      json: { name: 'short-lived', channel: 'ios' },
    });
    const { sourceId, writeKey } = (await created.json()) as { sourceId: string; writeKey: string };
    const list = await e2e.call('/api/sources', { headers: { authorization: `Bearer ${e2e.admin}` } });
    const listed = (await list.json()) as { items: Record<string, unknown>[] };
    expect(listed.items.some((s) => s.sourceId === sourceId)).toBe(true);
    expect(JSON.stringify(listed)).not.toContain(writeKey);
    const revoked = await e2e.call(`/api/sources/${sourceId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${e2e.admin}` },
    });
    expect(revoked.status).toBe(200);
    // A fresh key never reached the ingest cache, so refusal is immediate here.
    const res = await e2e.call('/api/engagement/click', {
      method: 'POST',
      headers: { 'x-api-key': writeKey },
      json: validEvent('click'),
    });
    expect(res.status).toBe(401);
  });
});
