import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Problem } from '../../functions/core/problem';
import type { Source } from '../../functions/core/sources';
import { authenticate, writeKeyFromHeaders } from '../../functions/http/auth';
import { decodeBody } from '../../functions/http/body';
import { cachedWriteKeys } from '../../functions/http/write-keys';

const json = { 'content-type': 'application/json' };
const opts = { maxBytes: 1024 };

const problemOf = (fn: () => unknown): Problem => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('expected a Problem');
};

describe('decodeBody', () => {
  it('parses plain, base64 and gzip bodies, announced or not', () => {
    const text = '{"a":1}';
    expect(decodeBody(text, false, json, opts).value).toEqual({ a: 1 });
    expect(decodeBody(Buffer.from(text).toString('base64'), true, json, opts).value).toEqual({ a: 1 });
    const gz = gzipSync(text).toString('base64');
    expect(decodeBody(gz, true, { ...json, 'content-encoding': 'gzip' }, opts).value).toEqual({ a: 1 });
    expect(decodeBody(gz, true, json, opts).value).toEqual({ a: 1 });
  });

  it('answers 400 invalid_json for malformed and truncated JSON', () => {
    for (const bad of ['{', '{"a":', 'nope', '{"a":1}}', '\u0000'])
      expect(problemOf(() => decodeBody(bad, false, json, opts))).toMatchObject({
        status: 400,
        code: 'invalid_json',
      });
  });

  it('answers 400 invalid_encoding for invalid UTF-8 and broken gzip', () => {
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]).toString(
      'base64',
    );
    expect(problemOf(() => decodeBody(invalidUtf8, true, json, opts))).toMatchObject({
      status: 400,
      code: 'invalid_encoding',
    });
    const broken = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage')]).toString('base64');
    expect(problemOf(() => decodeBody(broken, true, json, opts))).toMatchObject({
      status: 400,
      code: 'invalid_encoding',
    });
  });

  it('answers 413 over the limit, and stops inflating a gzip bomb at the limit', () => {
    expect(problemOf(() => decodeBody(`"${'x'.repeat(2000)}"`, false, json, opts))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    // 64 MB of zeros compress to ~64 KB; inflating it whole would be the attack.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)).toString('base64');
    const before = process.memoryUsage().arrayBuffers;
    expect(problemOf(() => decodeBody(bomb, true, json, { maxBytes: 1024 * 1024 }))).toMatchObject({
      status: 413,
    });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('answers 415 for a non-JSON content type or encoding, unless the route reads any type', () => {
    expect(
      problemOf(() =>
        decodeBody('a=1', false, { 'content-type': 'application/x-www-form-urlencoded' }, opts),
      ),
    ).toMatchObject({
      status: 415,
    });
    expect(
      problemOf(() => decodeBody('{}', false, { ...json, 'content-encoding': 'br' }, opts)),
    ).toMatchObject({ status: 415 });
    expect(
      decodeBody('{"a":1}', false, { 'content-type': 'text/plain' }, { ...opts, anyContentType: true }).value,
    ).toEqual({ a: 1 });
    expect(
      decodeBody('{}', false, { 'content-type': 'application/vnd.api+json; charset=utf-8' }, opts).value,
    ).toEqual({});
  });

  it('never throws anything but a Problem, whatever bytes arrive', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, gz) => {
        const body = (gz ? gzipSync(bytes) : Buffer.from(bytes)).toString('base64');
        try {
          decodeBody(body, true, json, opts);
        } catch (error) {
          expect(error).toBeInstanceOf(Problem);
        }
      }),
    );
  });
});

const source: Source = {
  sourceId: 'src_1',
  name: 'app',
  channel: 'ios',
  kind: 'client',
  rateLimit: 100,
  createdAt: '2026-01-01T00:00:00Z',
};

describe('authentication', () => {
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  const writeKey = async (key: string) => (key === 'pk_good' ? source : undefined);
  const jwt = async (token: string) => {
    if (token === 'admin') return { subject: 'a', roles: new Set(['admin'] as const) };
    if (token === 'analyst') return { subject: 'b', roles: new Set(['analyst'] as const) };
    if (token === 'nobody') return { subject: 'c', roles: new Set<never>() };
    throw new Error('bad signature');
  };
  const auth = { writeKey, jwt };
  const statusOf = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: Problem) => e.status,
    );

  it('reads the write key from Segment Basic auth or x-api-key', () => {
    expect(writeKeyFromHeaders({ authorization: basic('pk_good') })).toBe('pk_good');
    expect(writeKeyFromHeaders({ 'x-api-key': 'pk_good' })).toBe('pk_good');
    expect(writeKeyFromHeaders({ authorization: 'Bearer x' })).toBeUndefined();
    expect(
      writeKeyFromHeaders({ authorization: `Basic ${Buffer.from(':').toString('base64')}` }),
    ).toBeUndefined();
  });

  it('applies the auth matrix: 401 for missing or bad credentials, 403 for the wrong role', async () => {
    const cases: [
      kind: 'none' | 'writeKey' | 'analyst' | 'admin',
      headers: Record<string, string>,
      status: number,
    ][] = [
      ['none', {}, 200],
      ['writeKey', {}, 401],
      ['writeKey', { authorization: basic('pk_bad') }, 401],
      ['writeKey', { authorization: basic('pk_good') }, 200],
      ['writeKey', { authorization: 'Bearer admin' }, 401],
      ['analyst', {}, 401],
      ['analyst', { 'x-api-key': 'pk_good' }, 401],
      ['analyst', { authorization: 'Bearer forged' }, 401],
      ['analyst', { authorization: 'Bearer nobody' }, 403],
      ['analyst', { authorization: 'Bearer analyst' }, 200],
      ['analyst', { authorization: 'Bearer admin' }, 200],
      ['admin', { authorization: 'Bearer analyst' }, 403],
      ['admin', { authorization: 'Bearer admin' }, 200],
    ];
    for (const [kind, headers, status] of cases)
      expect([kind, headers, await statusOf(authenticate(kind, headers, auth))]).toEqual([
        kind,
        headers,
        status,
      ]);
  });

  it('caches write-key lookups, known and unknown, for their lifetimes', async () => {
    let clock = 0;
    let lookups = 0;
    const cached = cachedWriteKeys(
      async (k) => {
        lookups++;
        return k === 'pk_good' ? source : undefined;
      },
      () => clock,
    );
    await cached('pk_good');
    await cached('pk_good');
    await cached('pk_bad');
    await cached('pk_bad');
    expect(lookups).toBe(2);
    clock += 6_000; // unknown keys expire first
    await cached('pk_bad');
    await cached('pk_good');
    expect(lookups).toBe(3);
    clock += 60_000;
    await cached('pk_good');
    expect(lookups).toBe(4);
  });
});

describe('authentication under fuzz', () => {
  it('answers any headers with a principal or a 401/403 Problem, never anything else', async () => {
    const writeKey = async (key: string) => (key === 'pk_good' ? source : undefined);
    const jwt = async (token: string) => {
      if (token === 'admin') return { subject: 'a', roles: new Set(['admin'] as const) };
      throw new Error('invalid');
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('none', 'writeKey', 'analyst', 'admin' as const),
        fc.dictionary(
          fc.constantFrom('authorization', 'x-api-key', 'x-other'),
          fc.oneof(fc.string(), fc.constant('Basic '), fc.constant('Bearer '), fc.base64String()),
        ),
        async (kind, headers) => {
          try {
            const principal = await authenticate(kind, headers, { writeKey, jwt });
            if (kind !== 'none') expect(principal.kind).not.toBe('anonymous');
          } catch (error) {
            expect(error).toBeInstanceOf(Problem);
            expect([401, 403]).toContain((error as Problem).status);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
