import { describe, expect, it } from 'vitest';
import { Problem } from '../../functions/core/problem';
import { jsonResponse, problemResponse } from '../../functions/http/handler';

const securityHeaders = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

describe('responses', () => {
  it('carry the security headers, with a body, without one, and as problems', () => {
    expect(jsonResponse(200, { a: 1 }).headers).toMatchObject({
      ...securityHeaders,
      'content-type': 'application/json',
    });
    expect(jsonResponse(302, undefined, { location: 'https://x.example/' }).headers).toMatchObject({
      ...securityHeaders,
      location: 'https://x.example/',
    });
    const problem = problemResponse(
      new Problem(429, 'rate_limited', 'Slow down', undefined, { headers: { 'retry-after': '1' } }),
    );
    expect(problem.headers).toMatchObject({
      ...securityHeaders,
      'content-type': 'application/problem+json',
      'retry-after': '1',
    });
  });
});
