/**
 * `PUT /api/flags/{flagKey}` (admin) and `GET /api/flags/{flagKey}` (analyst): plain feature
 * flags. `GET /api/features/{clientKey}` (the client key is a source's write key, so revoking
 * the key revokes the payload): running experiments, holdouts and flags in GrowthBook's SDK
 * payload format, for GrowthBook's SDKs to evaluate on the device (functions/core/growthbook.ts).
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { FlagsRepository } from '../adapters/flags-repository';
import { logger } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { FLAG_LIMITS, type StoredFlag } from '../core/flags';
import { sdkPayload } from '../core/growthbook';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { sourceWriteKeys } from '../http/write-keys';
import { contract } from './features.contract';

const db = documentClient();
const experiments = new ExperimentsRepository(db, requireEnv(tables.experiments.envVar));
const flags = new FlagsRepository(db, requireEnv(tables.experiments.envVar));
const writeKeys = sourceWriteKeys();
// Every SDK start fetches the payload: definitions are cached as the promotion function caches them.
const definitions = new Cached(
  async () => ({ experiments: await experiments.list(), flags: await flags.list() }),
  settings.experimentCacheMs,
);

/** SDKs and CDNs may keep the payload as long as a definition change takes to reach the cache. */
const PAYLOAD_MAX_AGE_S = Math.max(0, Math.floor(settings.experimentCacheMs / 1000));

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const putFlag: Handler<'putFlag'> = async (request, { params: { flagKey }, body }) => {
  const current = await flags.get(flagKey);
  const next: StoredFlag = {
    ...body,
    key: flagKey,
    version: (current?.version ?? 0) + 1,
    updatedAt: request.receivedAt.toISOString(),
  };
  if (!(await flags.put(next, current?.version ?? 0)))
    throw new Problem(
      409,
      'conflict',
      `Flag ${flagKey} was changed by another request meanwhile: read it again and retry`,
    );
  logger.info('flag saved', { flagKey, version: next.version });
  return { status: current ? 200 : 201, body: next };
};

const getFlag: Handler<'getFlag'> = async (_request, { params: { flagKey } }) => {
  const flag = await flags.get(flagKey);
  if (!flag) throw new Problem(404, 'not_found', `No flag ${flagKey}`);
  return { status: 200, body: flag };
};

const sdkFeatures: Handler<'sdkFeatures'> = async (request, { params: { clientKey } }) => {
  const source = await writeKeys(clientKey);
  if (!source) throw new Problem(404, 'not_found', 'Unknown or revoked client key');
  const { experiments: all, flags: allFlags } = await definitions.get();
  return {
    status: 200,
    body: sdkPayload(all, allFlags, source.channel, request.receivedAt),
    headers: { 'cache-control': `public, max-age=${PAYLOAD_MAX_AGE_S}` },
  };
};

export const handler = httpHandler({
  module: 'experiments/features',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  body: { maxBytes: FLAG_LIMITS.bodyBytes },
  handlers: { putFlag, getFlag, sdkFeatures },
});
