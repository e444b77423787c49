/**
 * The ALB front door (pulse:frontDoor=alb) end to end: the same handlers, reached with ALB's event
 * and result shapes on the ingestion endpoint, count exactly what the HTTP API door counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { albRoutes } from '../../lib/front-door';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
let token: string;
beforeAll(async () => {
  e2e = await startE2E({ frontDoor: 'alb', corsOrigins: ['https://app.example'] });
  token = await e2e.consent('user-1');
});
afterAll(() => e2e?.close());

const ingest = (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const { json: body, ...rest } = init;
  return fetch(`${e2e.stack.ingestUrl}${path}`, {
    ...rest,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(rest.headers ?? {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
};

describe('the ALB ingestion endpoint', () => {
  it('is its own endpoint, serving exactly the write-key routes', () => {
    expect(e2e.stack.ingestUrl).not.toBe(e2e.stack.url);
    expect(albRoutes.length).toBeGreaterThan(0);
    expect(albRoutes.every((r) => r.auth === 'writeKey')).toBe(true);
  });

  it('accepts a batch with 202, and the consumer counts it once, as through the HTTP API', async () => {
    const events = [0, 1, 2].map((i) => validEvent('click', { eventId: `alb-${i}`, campaignId: 'alb-door' }));
    const res = await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { events },
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 3, eventIds: ['alb-0', 'alb-1', 'alb-2'] });
    // A retry of the same batch is deduplicated downstream.
    await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { events },
    });
    await e2e.drained();
    await eventually(async () => {
      const report = await json(
        await e2e.call('/api/metrics/campaigns/alb-door', {
          headers: { authorization: `Bearer ${e2e.analyst}` },
        }),
      );
      expect(report.totals.click).toBe(3);
    });
  });

  it('reads path parameters and URL-encoded query strings as API Gateway would', async () => {
    const res = await ingest(`/api/engagement/video-play?unknown=%E2%9C%93`, {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { ...validEvent('video-play', { eventId: 'alb-video' }), type: undefined },
    });
    expect(res.status).toBe(202);
    const unknownType = await ingest('/api/engagement/teleport', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: {},
    });
    expect(unknownType.status).toBe(404);
  });

  it('answers bad input with problem+json naming the field, and a wrong key with 401', async () => {
    const bad = await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { events: [{ ...validEvent('click'), eventId: '' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.stringify(await json(bad))).toContain('events.0.eventId');
    const unauthorized = await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': 'pk_not_a_key' },
      json: { events: [validEvent('click')] },
    });
    expect(unauthorized.status).toBe(401);
  });

  it('serves the Segment routes', async () => {
    const res = await ingest('/v1/track', {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${e2e.writeKey}:`).toString('base64')}` },
      json: {
        userId: 'user-1',
        event: 'Signed Up',
        messageId: 'alb-seg-1',
        context: { consent: { token } },
      },
    });
    expect(res.status).toBe(200);
  });

  it('answers its own 404 for analyst and admin routes, which stay on the API endpoint', async () => {
    const res = await ingest('/api/metrics/campaigns', {
      headers: { authorization: `Bearer ${e2e.analyst}` },
    });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe('not_found');
  });

  it('answers browser preflights and adds CORS headers for the configured origin', async () => {
    const preflight = await ingest('/api/engagement/events', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const res = await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { origin: 'https://app.example', 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { events: [validEvent('click', { eventId: 'alb-cors' })] },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await ingest('/api/engagement/events', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'x-api-key': e2e.writeKey, 'x-consent-token': token },
      json: { events: [validEvent('click', { eventId: 'alb-cors-2' })] },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
