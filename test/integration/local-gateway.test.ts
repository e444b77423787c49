/**
 * The API Gateway emulator against the real route table and echo fixtures: routing as API
 * Gateway routes, payload format 2.0 events, result mapping, and what API Gateway answers itself.
 */

import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Gateway, MAX_BODY_BYTES, startGateway } from '../../lib/local/gateway';
import { request } from '../fixtures/http';
import { fixtureState, resetFixtureState } from '../fixtures/state';

const FIXTURES = join(import.meta.dirname, '../fixtures/gateway');

interface Echo {
  event: APIGatewayProxyEventV2;
  context: {
    functionName: string;
    functionVersion: string;
    awsRequestId: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    logGroupName: string;
    logStreamName: string;
    remainingTimeInMillis: number;
  };
}

const logger = { error: vi.fn(), warn: vi.fn() };
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  gateway = await startGateway({ functionsDir: FIXTURES, logger });
  url = gateway.url;
});
afterAll(async () => {
  await gateway?.close();
});
beforeEach(() => {
  resetFixtureState();
  logger.error.mockClear();
  logger.warn.mockClear();
});

/** Writes raw bytes to the gateway and reads until it hangs up. */
const rawExchange = (text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });

const echo = async (path: string, options: Parameters<typeof request>[1] = {}) => {
  const res = await request(`${url}${path}`, options);
  expect(res.status, res.text).toBe(200);
  return res.json<Echo>();
};

describe('routing', () => {
  it('imports each handler module lazily, once', async () => {
    expect(fixtureState().imports['gateway/echo'] ?? 0).toBe(0);
    await echo('/api/health');
    await echo('/api/health');
    await echo('/api/engagement/click', { method: 'POST' });
    expect(fixtureState().imports['gateway/echo']).toBe(1);
  });

  it('prefers a static segment over a path variable, as API Gateway does', async () => {
    const batch = await echo('/api/engagement/events', { method: 'POST' });
    expect(batch.event.routeKey).toBe('POST /api/engagement/events');
    expect(batch.event.requestContext.routeKey).toBe('POST /api/engagement/events');
    expect(batch.event.pathParameters).toBeUndefined();

    const one = await echo('/api/engagement/click', { method: 'POST' });
    expect(one.event.routeKey).toBe('POST /api/engagement/{type}');
    expect(one.event.pathParameters).toEqual({ type: 'click' });
    expect(one.context.functionName).toBe('pulse-local-ingest-engagement');
  });

  it('decodes path parameters and keeps rawPath as sent', async () => {
    const res = await echo('/api/sources/src%20one%2Fx', { method: 'DELETE' });
    expect(res.event.routeKey).toBe('DELETE /api/sources/{sourceId}');
    expect(res.event.pathParameters).toEqual({ sourceId: 'src one/x' });
    expect(res.event.rawPath).toBe('/api/sources/src%20one%2Fx');
    expect(res.event.requestContext.http.path).toBe('/api/sources/src%20one%2Fx');
  });

  it('sends unknown paths, wrong methods and extra segments to $default (the fallback)', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api/engagement/events'],
      ['POST', '/api/engagement/click/extra'],
      ['POST', '/api/engagement/'],
      ['GET', '/'],
    ] as const) {
      const res = await echo(path, { method });
      expect(res.event.routeKey, `${method} ${path}`).toBe('$default');
      expect(res.event.requestContext.routeKey).toBe('$default');
      expect(res.context.functionName).toBe('pulse-local-service-fallback');
    }
  });

  it('honours greedy variables and ANY in a custom route table', async () => {
    const custom = await startGateway({
      functionsDir: FIXTURES,
      logger,
      routes: [
        { method: 'ANY', path: '/files/{proxy+}', handler: 'echo' },
        { method: 'GET', path: '/files/{name}', handler: 'echo' },
        { method: 'GET', path: '/files/readme', handler: 'echo' },
      ],
      fallbackHandler: 'echo',
    });
    try {
      const get = async (method: string, path: string) =>
        (await request(`${custom.url}${path}`, { method })).json<Echo>();
      expect((await get('GET', '/files/readme')).event.routeKey).toBe('GET /files/readme');
      expect((await get('GET', '/files/a')).event.routeKey).toBe('GET /files/{name}');
      const deep = await get('PUT', '/files/a/b%20c');
      expect(deep.event.routeKey).toBe('ANY /files/{proxy+}');
      expect(deep.event.pathParameters).toEqual({ proxy: 'a/b c' });
      expect((await get('GET', '/files')).event.routeKey).toBe('$default');
    } finally {
      await custom.close();
    }
  });
});

describe('payload format 2.0 event', () => {
  it('carries query strings raw and parsed, repeated keys joined with commas', async () => {
    const res = await echo('/api/health?a=1&a=2&b=x%20y&c&d=%E2%9C%93');
    expect(res.event.rawQueryString).toBe('a=1&a=2&b=x%20y&c&d=%E2%9C%93');
    expect(res.event.queryStringParameters).toEqual({ a: '1,2', b: 'x y', c: '', d: '✓' });

    const bare = await echo('/api/health');
    expect(bare.event.rawQueryString).toBe('');
    expect(bare.event.queryStringParameters).toBeUndefined();
  });

  it('lower-cases headers, joins repeated ones with commas and moves cookies out', async () => {
    const res = await echo('/api/health', {
      headers: {
        'X-Custom-Thing': 'Value',
        'x-repeated': ['one', 'two'],
        Cookie: 'a=1; b=2',
        'User-Agent': 'pulse-test/1.0',
      },
    });
    const { headers, cookies, requestContext } = res.event;
    expect(headers['x-custom-thing']).toBe('Value');
    expect(headers['x-repeated']).toBe('one,two');
    expect(headers.cookie).toBeUndefined();
    expect(cookies).toEqual(['a=1', 'b=2']);
    expect(headers['user-agent']).toBe('pulse-test/1.0');
    expect(headers.host).toBe(new URL(url).host);
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(Object.keys(headers).every((k) => k === k.toLowerCase())).toBe(true);

    expect(res.event.version).toBe('2.0');
    expect(requestContext).toMatchObject({
      accountId: '000000000000',
      apiId: expect.any(String),
      domainName: new URL(url).host,
      domainPrefix: '127',
      http: {
        method: 'GET',
        path: '/api/health',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'pulse-test/1.0',
      },
      stage: '$default',
      routeKey: 'GET /api/health',
    });
    expect(requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
  });

  it('gives every request its own requestId, and the function a Lambda-like context', async () => {
    const a = await echo('/api/health');
    const b = await echo('/api/health');
    expect(a.event.requestContext.requestId).not.toBe(b.event.requestContext.requestId);
    expect(a.context.awsRequestId).not.toBe(b.context.awsRequestId);
    expect(a.context).toMatchObject({
      functionName: 'pulse-local-service-health',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:pulse-local-service-health',
      memoryLimitInMB: expect.stringMatching(/^\d+$/),
      logGroupName: '/aws/lambda/pulse-local-service-health',
      logStreamName: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/),
    });
    expect(a.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.context.remainingTimeInMillis).toBeGreaterThan(0);
    expect(a.context.remainingTimeInMillis).toBeLessThanOrEqual(30_000);
  });

  it('passes text bodies as UTF-8 strings', async () => {
    const json = JSON.stringify({ name: 'Zoë ✓' });
    const res = await echo('/api/engagement/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: json,
    });
    expect(res.event.body).toBe(json);
    expect(res.event.isBase64Encoded).toBe(false);

    for (const type of ['text/plain', 'application/vnd.api+json', 'application/x-www-form-urlencoded']) {
      const r = await echo('/api/engagement/events', {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'a=b',
      });
      expect(r.event.body, type).toBe('a=b');
      expect(r.event.isBase64Encoded, type).toBe(false);
    }
  });

  it('base64-encodes gzip, binary and untyped bodies', async () => {
    const original = JSON.stringify({ events: [{ type: 'click' }] });
    const gz = gzipSync(original);
    const gzipped = await echo('/api/engagement/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gz,
    });
    expect(gzipped.event.isBase64Encoded).toBe(true);
    expect(gunzipSync(Buffer.from(gzipped.event.body as string, 'base64')).toString()).toBe(original);

    const bytes = Buffer.from([0, 159, 146, 150, 255]);
    for (const headers of [{ 'content-type': 'application/octet-stream' }, {}]) {
      const r = await echo('/api/engagement/events', { method: 'POST', headers, body: bytes });
      expect(r.event.isBase64Encoded).toBe(true);
      expect(Buffer.from(r.event.body as string, 'base64').equals(bytes)).toBe(true);
    }
  });

  it('leaves body out when there is none', async () => {
    const res = await echo('/api/engagement/events', { method: 'POST' });
    expect(res.event.body).toBeUndefined();
    expect(res.event.isBase64Encoded).toBe(false);
    expect('body' in res.event).toBe(false);
  });
});

describe('results', () => {
  it('infers 200 application/json for a string or an object without statusCode', async () => {
    const s = await request(`${url}/api/health`, { headers: { 'x-fixture-result': 'string' } });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.text).toBe('hello from a string');

    const o = await request(`${url}/api/health`, { headers: { 'x-fixture-result': 'object' } });
    expect(o.status).toBe(200);
    expect(o.headers['content-type']).toBe('application/json');
    expect(o.json()).toEqual({ hello: 'world', body: 'not a structured response without statusCode' });
  });

  it('writes cookies as Set-Cookie, multi-value headers, and decodes base64 bodies', async () => {
    const c = await request(`${url}/api/health`, { headers: { 'x-fixture-result': 'cookies' } });
    expect(c.status).toBe(200);
    expect(c.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(c.headers['x-single']).toBe('one');
    expect(c.headers['x-multi']).toBe('a, b');
    expect(c.headers['apigw-requestid']).toBeTruthy();

    const b = await request(`${url}/api/health`, { headers: { 'x-fixture-result': 'binary' } });
    expect(b.status).toBe(201);
    expect(b.headers['content-type']).toBe('application/octet-stream');
    expect([...b.body]).toEqual([0, 1, 2, 254, 255]);
  });

  it('answers 500 Internal Server Error for a throwing handler, logs it, and keeps serving', async () => {
    const res = await request(`${url}/api/health`, { headers: { 'x-fixture-throw': '1' } });
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ message: 'Internal Server Error' });
    expect(logger.error).toHaveBeenCalled();
    expect(String(logger.error.mock.calls[0]?.[1])).toContain('fixture failure');
    await echo('/api/health');
  });

  it('answers 500 for malformed results and for a handler module that cannot load', async () => {
    for (const kind of ['malformed', 'object-body', 'bad-header']) {
      const res = await request(`${url}/api/health`, { headers: { 'x-fixture-result': kind } });
      expect(res.status, kind).toBe(500);
      expect(res.json()).toEqual({ message: 'Internal Server Error' });
    }
    const missing = await startGateway({
      functionsDir: FIXTURES,
      logger,
      routes: [{ method: 'GET', path: '/missing', handler: 'does/not-exist' }],
    });
    try {
      const res = await request(`${missing.url}/missing`);
      expect(res.status).toBe(500);
      expect(res.json()).toEqual({ message: 'Internal Server Error' });
    } finally {
      await missing.close();
    }
  });

  it('answers 503 when the integration times out', async () => {
    const slow = await startGateway({ functionsDir: FIXTURES, logger, integrationTimeoutMs: 100 });
    try {
      const res = await request(`${slow.url}/api/health`, { headers: { 'x-fixture-sleep': '1000' } });
      expect(res.status).toBe(503);
      expect(res.json()).toEqual({ message: 'Service Unavailable' });
    } finally {
      await slow.close();
    }
  });
});

describe('limits and bad requests', () => {
  it('refuses a declared body over 10 MB with 413 without invoking the function', async () => {
    const body = Buffer.alloc(MAX_BODY_BYTES + 1, 'a');
    const res = await request(`${url}/api/engagement/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': body.length },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(fixtureState().httpCalls).toBe(0);
    await echo('/api/health');
  });

  it('cuts a chunked upload off at 10 MB with 413', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(256 * 1024, 'b');
    // An endless upload: the server must answer without reading (or keeping) it all.
    const endless = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent > 64 * 1024 * 1024 ? null : chunk);
      },
    });
    const res = await request(`${url}/api/engagement/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      body: endless,
    });
    endless.destroy();
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(fixtureState().httpCalls).toBe(0);
    await echo('/api/health');
  });

  it("refuses with 413 a body under 10 MB whose event exceeds Lambda's 6 MB", async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 1);
    const res = await request(`${url}/api/engagement/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(413);
    expect(fixtureState().httpCalls).toBe(0);
  });

  it('refuses an over-limit `Expect: 100-continue` upload before it starts', async () => {
    const reply = await rawExchange(
      `POST /api/engagement/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\nexpect: 100-continue\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413/);
    expect(reply).not.toContain('100 Continue');
    expect(reply).toContain('{"message":"Request Entity Too Large"}');
    expect(fixtureState().httpCalls).toBe(0);
  });

  it('answers malformed HTTP with 400 and keeps serving', async () => {
    const reply = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await echo('/api/health');
  });
});

describe('request log (npm start --verbose)', () => {
  it('writes one line per request: the route, never the path with its ids, the status and the time', async () => {
    const lines: string[] = [];
    const logged = await startGateway({ functionsDir: FIXTURES, logger, requestLog: (l) => lines.push(l) });
    try {
      const res = await fetch(`${logged.url}/api/users/maria-42/consent`);
      await res.arrayBuffer();
      const missing = await fetch(`${logged.url}/nope`);
      await missing.arrayBuffer();
      // The line is written when the response has finished: wait for it, with a deadline.
      const deadline = Date.now() + 5_000;
      while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^\[local gateway\] GET \/api\/users\/\{userId\}\/consent \d{3} \d+ ms$/);
      expect(lines[1]).toMatch(/^\[local gateway\] \$default \d{3} \d+ ms$/);
      expect(lines.join('\n')).not.toContain('maria-42');
    } finally {
      await logged.close();
    }
  });
});
