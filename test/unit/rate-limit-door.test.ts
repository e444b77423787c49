/** How the doors answer a refused rate-limit take: 429 with Retry-After, or 413 naming the limit. */
import { describe, expect, it } from 'vitest';
import type { RateDecision, RateLimiter } from '../../functions/adapters/rate-limiter';
import { Problem } from '../../functions/core/problem';
import type { Source } from '../../functions/core/sources';
import { enforceRateLimit } from '../../functions/http/door';

const source: Source = {
  sourceId: 'src_door',
  name: 'app',
  channel: 'web',
  kind: 'client',
  rateLimit: 100,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const limiter = (decision: RateDecision) => ({ take: async () => decision }) as unknown as RateLimiter;

const refusal = async (decision: RateDecision): Promise<Problem> => {
  try {
    await enforceRateLimit(limiter(decision), source, 5);
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('not refused');
};

describe('enforceRateLimit', () => {
  it('lets a taken request through', async () => {
    await expect(enforceRateLimit(limiter({ ok: true, retryAfterSeconds: 0 }), source, 5)).resolves.toBe(
      undefined,
    );
  });

  it('answers 429 with Retry-After when the second is spent', async () => {
    const problem = await refusal({ ok: false, retryAfterSeconds: 2 });
    expect(problem.status).toBe(429);
    expect(problem.code).toBe('rate_limited');
    expect(problem.extra.headers).toEqual({ 'retry-after': '2' });
  });

  it('answers 413 naming the limit for a request larger than the whole limit', async () => {
    const problem = await refusal({ ok: false, retryAfterSeconds: 0, tooLarge: true });
    expect(problem.status).toBe(413);
    expect(problem.toBody()).toMatchObject({
      code: 'payload_too_large',
      limit: 'rateLimit',
      maxEvents: 100,
    });
  });
});
