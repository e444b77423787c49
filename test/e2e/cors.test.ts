/**
 * Browser preflights against a stack with CORS origins (`--cors-origins`, as `pulse:corsOrigins`):
 * `$default` receives OPTIONS (it takes every method), and a browser refuses any non-2xx preflight,
 * so web apps sending `x-api-key` or `x-consent-token` depend on the fallback's 204.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS } from '../../lib/cors';
import { request } from '../fixtures/http';
import { type E2E, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

const APP = 'https://app.example.com';
let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [], corsOrigins: [APP, 'https://www.example.com'] });
});
afterAll(() => e2e?.close());

const preflight = (path: string, origin: string, method = 'POST') =>
  request(`${e2e.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type,x-api-key,x-consent-token',
    },
  });

describe('CORS preflight', () => {
  it.each([
    ['/api/engagement/click', 'POST'],
    ['/api/users/user-1/consent', 'PUT'],
    ['/api/identify', 'POST'],
  ])('%s (%s): 204 with the configured headers for an allowed origin', async (path, method) => {
    const res = await preflight(path, APP, method);
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(String(res.headers['access-control-allow-methods']).split(',')).toContain(method);
    const allowed = String(res.headers['access-control-allow-headers']).split(',');
    for (const h of ['x-api-key', 'x-consent-token', 'content-type']) expect(allowed).toContain(h);
    expect(allowed.sort()).toEqual([...CORS_ALLOW_HEADERS].sort());
    expect(res.headers['access-control-max-age']).toBe('3600');
    expect(res.headers.vary).toContain('origin');
  });

  it('gives another origin no CORS header at all', async () => {
    const res = await preflight('/api/engagement/click', 'https://evil.example.net');
    expect(res.status).toBe(204);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('leaves a plain OPTIONS (no preflight) to the route table: 405 on a known path', async () => {
    const res = await request(`${e2e.url}/api/engagement/click`, { method: 'OPTIONS' });
    expect(res.status).toBe(405);
  });
});

describe('the request after the preflight', () => {
  it('carries the allowed origin and exposes Retry-After, as API Gateway adds them', async () => {
    const token = await e2e.consent('user-1');
    const res = await request(`${e2e.url}/api/engagement/click`, {
      method: 'POST',
      headers: {
        origin: APP,
        'content-type': 'application/json',
        'x-api-key': e2e.writeKey,
        'x-consent-token': token,
      },
      body: JSON.stringify({ ...validEvent('click'), type: undefined }),
    });
    expect(res.status, res.text).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-expose-headers']).toBe('retry-after');
  });

  it('carries nothing for another origin', async () => {
    const res = await request(`${e2e.url}/api/health`, { headers: { origin: 'https://evil.example.net' } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
