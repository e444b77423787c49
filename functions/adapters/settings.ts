/**
 * The deployment's settings as the functions see them: read once per container from the
 * environment contract of lib/config.ts, defaults included, so no handler parses them again.
 */
import { DEFAULTS, ENV } from '../../lib/config';
import { parseCorsOrigins } from '../../lib/cors';
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
});

export const settings = readSettings(process.env);
