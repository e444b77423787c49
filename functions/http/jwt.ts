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
    clientId: env[ENV.userPoolClientId] ?? DEFAULTS.localUserPoolClientId,
    // Id and access tokens both carry cognito:groups; analysts may hold either.
    tokenUse: null,
  });
  const localJwks = env[ENV.localJwks];
  if (localJwks) verifier.cacheJwks(JSON.parse(localJwks));
  return async (token) => {
    const payload = await verifier.verify(token);
    const groups = (payload['cognito:groups'] as string[] | undefined) ?? [];
    const roles = new Set<Role>();
    if (groups.includes(ROLE_GROUPS.admin)) roles.add('admin');
    if (groups.includes(ROLE_GROUPS.analyst)) roles.add('analyst');
    return { subject: payload.sub, roles };
  };
};
