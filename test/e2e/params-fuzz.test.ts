/**
 * Every path and query parameter of every route of the route table, sent over-long, empty and odd
 * (encoded control characters, invalid UTF-8, lone surrogates, 4-byte characters past the key
 * limits) with the right credentials: never a 5xx. DynamoDB refuses keys over 1,024 bytes (sort)
 * or 2,048 (partition) and strings that are not valid UTF-8 — each would be a 500 had the value
 * reached a key; the operations' contracts must stop it first.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../../functions/service/contracts';
import { type RouteDef, routes } from '../../lib/routes';
import { type E2E, startE2E } from '../support/e2e';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [] });
});
afterAll(async () => {
  await e2e?.close();
});

/** Raw (already percent-encoded where needed) path segment values. */
const ODD_SEGMENTS = [
  'x'.repeat(1100),
  '%F0%9F%98%80'.repeat(300), // 300 emoji: 1,200 bytes of UTF-8 in 300 characters
  '%ED%A0%80', // a lone surrogate, as UTF-8 bytes no valid string has
  '%E0%A4%A', // a truncated escape
  '%00',
  '%0A%0D',
  '%20',
  '..',
  '%2F',
  'a%23b',
  '__proto__',
  'constructor',
];

const ODD_QUERY_VALUES = [
  '',
  'x'.repeat(5000),
  '%ED%A0%80',
  '%00',
  '-1',
  '1e309',
  'NaN',
  '9'.repeat(400),
  '2026-13-45T99:99:99Z',
  '%F0%9F%98%80'.repeat(1000),
];

/** Query parameter names a route's contract declares, plus the ones every list takes. */
const queryNames = (route: RouteDef): string[] => {
  const operation = (contracts as Record<string, Record<string, { query?: { def?: { shape?: object } } }>>)[
    route.handler
  ]?.[route.id];
  const shape = operation?.query?.def?.shape;
  return [...new Set([...Object.keys(shape ?? {}), 'limit', 'cursor'])];
};

const credentials = (route: RouteDef): Record<string, string> =>
  route.auth === 'writeKey'
    ? { 'x-api-key': e2e.writeKey }
    : route.auth === 'analyst'
      ? { authorization: `Bearer ${e2e.analyst}` }
      : route.auth === 'admin'
        ? { authorization: `Bearer ${e2e.admin}` }
        : {};

const fill = (path: string, value: string) => path.replace(/\{\w+\+?\}/g, value);
const sampleValue = (path: string) => fill(path, 'sample');

const call = async (route: RouteDef, path: string) => {
  const res = await fetch(`${e2e.url}${path}`, {
    method: route.method,
    headers: { ...credentials(route), 'content-type': 'application/json' },
    ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { body: '{}' } : {}),
    redirect: 'manual',
  });
  await res.arrayBuffer();
  return res.status;
};

describe('odd parameters on every route', () => {
  it.each(routes.filter((r) => r.path.includes('{')) as readonly RouteDef[])(
    '$method $path: no 5xx for any odd path parameter',
    async (route) => {
      for (const value of ODD_SEGMENTS) {
        const status = await call(route, fill(route.path, value));
        expect([route.id, value.slice(0, 20), status < 500]).toEqual([route.id, value.slice(0, 20), true]);
      }
    },
  );

  it.each(routes as readonly RouteDef[])(
    '$method $path: no 5xx for any odd query parameter',
    async (route) => {
      for (const name of queryNames(route))
        for (const value of ODD_QUERY_VALUES) {
          const status = await call(route, `${sampleValue(route.path)}?${name}=${value}`);
          expect([route.id, name, value.slice(0, 20), status < 500]).toEqual([
            route.id,
            name,
            value.slice(0, 20),
            true,
          ]);
        }
    },
  );

  it('no 5xx for arbitrary printable path parameters (property)', async () => {
    const parameterised = routes.filter((r) => r.path.includes('{')) as readonly RouteDef[];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...parameterised),
        fc.string({ unit: 'binary', minLength: 0, maxLength: 400 }),
        async (route, raw) => {
          const status = await call(route, fill(route.path, encodeURIComponent(raw) || '%20'));
          expect(status).toBeLessThan(500);
        },
      ),
      { numRuns: 150, seed: 20261129 },
    );
  });
});
