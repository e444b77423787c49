/**
 * Analyst and admin tokens: the stack's Cognito user pool JWTs, verified in the function with
 * aws-jwt-verify (signature, issuer, audience/client, expiry). Locally the same verifier runs
 * with a local JWKS cached in place of Cognito's, so the same checks apply.
 */
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { DEFAULTS, ENV, ROLE_GROUPS } from '../../lib/config';
import type { Role } from './types';

export interface VerifiedUser {
  subject: string;
  roles: Set<Role>;
}

export type JwtAuthenticator = (token: string) => Promise<VerifiedUser>;

export const jwtAuthenticator = (env: NodeJS.ProcessEnv = process.env): JwtAuthenticator => {
  const verifier = CognitoJwtVerifier.create({
    userPoolId: env[ENV.userPoolId] ?? DEFAULTS.localUserPoolId,
    // One id, or several comma-separated (the CLI's client and the console's).
    clientId: (env[ENV.userPoolClientId] ?? DEFAULTS.localUserPoolClientId).split(','),
    // Id and access tokens both carry cognito:groups; analysts may hold either.
    tokenUse: null,
  });
  const localJwks = env[ENV.localJwks];
  if (localJwks) verifier.cacheJwks(JSON.parse(localJwks));
  return async (token) => {
    const payload = await verifier.verify(token);
    // aws-jwt-verify checks `exp` only when present; Cognito always sets it and `sub`, so a
    // token without either was not minted by the pool's ordinary flows: refuse it.
    if (typeof payload.exp !== 'number') throw new Error('The token has no expiry (exp)');
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new Error('The token has no subject (sub)');
    const groups = groupsOf(payload['cognito:groups']);
    const roles = new Set<Role>();
    if (groups.has(ROLE_GROUPS.admin)) roles.add('admin');
    if (groups.has(ROLE_GROUPS.analyst)) roles.add('analyst');
    return { subject: payload.sub, roles };
  };
};

/**
 * Group names, matched exactly: Cognito sends an array; a single string is taken as one group
 * name (never searched as text, so `superadministrators` is not `admin`); anything else is none.
 */
export const groupsOf = (claim: unknown): ReadonlySet<string> => {
  if (typeof claim === 'string') return new Set([claim]);
  if (Array.isArray(claim)) return new Set(claim.filter((g): g is string => typeof g === 'string'));
  return new Set();
};
