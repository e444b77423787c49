/**
 * The deployment's settings as the functions see them: read once per container from the
 * environment contract of lib/config.ts, defaults included, so no handler parses them again.
 */
import { DEFAULTS, ENV } from '../../lib/config';
import { parseCorsOrigins } from '../../lib/cors';
import { parseUtmMapping } from '../core/edge/campaign-attribution';
import type { BotMode } from '../core/edge/enrich';
import { COUNTRY_MODES, type CountryMode } from '../core/edge/geo';
import { identityVerificationMode } from '../core/identity-verification';
import type { PiiMode } from '../core/pii';

const number = (value: string | undefined, fallback: number): number => {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
};

export const readSettings = (env: NodeJS.ProcessEnv) => ({
  stage: env[ENV.stage] ?? DEFAULTS.stage,
  consentRequired: (env[ENV.consentMode] ?? DEFAULTS.consentMode) === 'required',
  consentTtlDays: number(env[ENV.consentTtlDays], DEFAULTS.consentTtlDays),
  piiMode: (env[ENV.piiMode] ?? DEFAULTS.piiMode) as PiiMode,
  retentionDays: number(env[ENV.retentionDays], DEFAULTS.retentionDays),
  eventHorizonDays: number(env[ENV.eventHorizonDays], DEFAULTS.eventHorizonDays),
  /** Whether a client key needs a user hash to act for a user id (identity verification). */
  identityVerification: identityVerificationMode(
    env[ENV.identityVerification] ?? DEFAULTS.identityVerification,
  ),
  /** Browser origins allowed by CORS; empty: none. */
  corsOrigins: parseCorsOrigins(env[ENV.corsOrigins]),
  /** Days a failed batch stays in the on-failure bucket (its lifecycle rule). */
  failureRetentionDays: number(env[ENV.failureRetentionDays], DEFAULTS.failureRetentionDays),
  /** How long experiment definitions are cached (ms). */
  experimentCacheMs: number(env[ENV.experimentCacheMs], 30_000),
  // Clean data at the edge (docs/data-quality.md).
  botMode: (env[ENV.botMode] === 'drop' ? 'drop' : DEFAULTS.botMode) as BotMode,
  botMaxEventsPerMinute: number(env[ENV.botMaxEventsPerMinute], DEFAULTS.botMaxEventsPerMinute),
  countryMode: (COUNTRY_MODES as readonly string[]).includes(env[ENV.countryMode] ?? '')
    ? (env[ENV.countryMode] as CountryMode)
    : DEFAULTS.countryMode,
  geoDatabase: env[ENV.geoDatabase] || undefined,
  utmMapping: parseUtmMapping(env[ENV.utmMapping]),
  /** How long tracking plans are cached per container (ms): like write keys, at most a minute. */
  planCacheMs: number(env[ENV.planCacheMs], 30_000),
});

export const settings = readSettings(process.env);
