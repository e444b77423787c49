import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricUnit, metrics } from '../adapters/observability';
import { RateLimiter } from '../adapters/rate-limiter';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import type { ConsentClaims } from '../core/consent';
import type { DoorContext } from '../core/envelope';
import type { Door } from '../core/events';
import { Problem } from '../core/problem';
import type { Source } from '../core/sources';
import { edgeOfDoor } from './edge';
import type { HttpRequest } from './types';
import { sourceWriteKeys } from './write-keys';

/**
 * Take `count` from the source's per-second allowance (waiting briefly for the next second when
 * this one is spent), or answer 429 with Retry-After; a request of more events than the whole
 * limit could never pass, so it is 413 naming the limit (split it), not a 429 to retry forever.
 */
export const enforceRateLimit = async (
  limiter: RateLimiter,
  source: Source,
  count: number,
): Promise<void> => {
  const rate = await limiter.take(source.sourceId, source.rateLimit, count);
  if (rate.ok) return;
  metrics.addMetric('RateLimited', MetricUnit.Count, count);
  if (rate.tooLarge)
    throw new Problem(
      413,
      'payload_too_large',
      `Source ${source.sourceId} is limited to ${source.rateLimit} events per second: send at most that many per request`,
      undefined,
      { members: { limit: 'rateLimit', maxEvents: source.rateLimit } },
    );
  throw new Problem(
    429,
    'rate_limited',
    `Source ${source.sourceId} is limited to ${source.rateLimit} per second`,
    undefined,
    {
      headers: { 'retry-after': String(rate.retryAfterSeconds) },
    },
  );
};

export const ingestDoor = (door: Door) => {
  const db = documentClient();
  const limiter = new RateLimiter(db, requireEnv(tables.limits.envVar));
  const { eventHorizonDays: horizonDays, consentRequired, piiMode } = settings;

  /**
   * Consent tokens this container has verified: apps send the same token with every event, and
   * an HMAC check costs more than the rest of an event's validation. Subject and expiry are
   * still judged per event; only the signature check is remembered. Bounded.
   */
  const verified = new Map<string, ConsentClaims | undefined>();
  const edge = edgeOfDoor({ plans: door !== 'identify' });

  /** The authenticated source, its rate limit taken for `count` events, and the door context. */
  const context = async (request: HttpRequest, count: number): Promise<DoorContext> => {
    if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
    const { source } = request.principal;
    await enforceRateLimit(limiter, source, count);
    const key = consentRequired || piiMode === 'hash' ? await signingKey() : undefined;
    const headerToken = request.event.headers?.['x-consent-token'];
    if (verified.size > 20_000) verified.clear();
    const edgeContext = await edge.context(request, source);
    return {
      sourceId: source.sourceId,
      sourceChannel: source.channel,
      receivedAt: request.receivedAt,
      receivedAtIso: request.receivedAt.toISOString(),
      horizonDays,
      door,
      ...(consentRequired && key && { consent: { key, verified, ...(headerToken && { headerToken }) } }),
      pii: { mode: piiMode, ...(key && { key }) },
      edge: edgeContext,
    };
  };

  return {
    context,
    edge,
    consentRequired,
    writeKeys: sourceWriteKeys(),
  };
};
