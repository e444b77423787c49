/**
 * Write-key lookups with a per-container cache: a hit costs nothing, a revoked key stops
 * working within the cache lifetime (at most a minute: docs/api.md, Authentication).
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { SourcesRepository } from '../adapters/sources-repository';
import type { Source } from '../core/sources';

export type WriteKeyAuthenticator = (writeKey: string) => Promise<Source | undefined>;

export const WRITE_KEY_CACHE_MS = 60_000;
/** Unknown keys are cached briefly too, so a flood of bad keys does not become a flood of reads. */
export const UNKNOWN_KEY_CACHE_MS = 5_000;
const MAX_ENTRIES = 10_000;

export const cachedWriteKeys = (
  lookup: (writeKey: string) => Promise<Source | undefined>,
  now: () => number = Date.now,
): WriteKeyAuthenticator => {
  const cache = new Map<string, { source: Source | undefined; until: number }>();
  return async (writeKey) => {
    const hit = cache.get(writeKey);
    if (hit && hit.until > now()) return hit.source;
    const source = await lookup(writeKey);
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(writeKey, { source, until: now() + (source ? WRITE_KEY_CACHE_MS : UNKNOWN_KEY_CACHE_MS) });
    return source;
  };
};

/** A function's write-key authenticator: the sources table's lookup behind the cache. */
export const sourceWriteKeys = (): WriteKeyAuthenticator => {
  const sources = new SourcesRepository(documentClient(), requireEnv(tables.sources.envVar));
  return cachedWriteKeys((writeKey) => sources.findByWriteKey(writeKey));
};
