/**
 * The local stack's stand-in for Cognito's signing keys: an RSA key pair kept under `.pulse/`
 * (or the `--data` folder), whose public half the functions trust as the user pool's JWKS.
 * Tokens are shaped like Cognito's (issuer, client id, token_use, cognito:groups), so the
 * same aws-jwt-verify checks run locally as in AWS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { DEFAULTS, ROLE_GROUPS } from '../config';

export interface LocalKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

export const DEFAULT_KEY_DIR = '.pulse';
const FILE = 'local-signing-key.json';

export const issuerOf = (userPoolId: string): string => {
  const region = userPoolId.split('_')[0];
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
};

/** The local signing key, created on first use and then reused (tokens survive restarts). */
export const ensureLocalKeys = async (dir: string = DEFAULT_KEY_DIR): Promise<LocalKeys> => {
  const file = join(dir, FILE);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalKeys;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const keys: LocalKeys = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  mkdirSync(dir, { recursive: true });
  try {
    // `wx`: when two processes race to create the key, the first one wins and both use it.
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    return JSON.parse(readFileSync(file, 'utf8')) as LocalKeys;
  }
  return keys;
};

/**
 * The local HMAC key (consent and link tokens, keyed id hashes), in place of the stack's
 * Secrets Manager secret; created on first use, kept beside the JWT key.
 */
export const ensureLocalHmacKey = (dir: string = DEFAULT_KEY_DIR): string => {
  const file = join(dir, 'local-hmac-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
};

/** The JWKS document the functions are given (ENV.localJwks). */
export const jwksJson = (keys: LocalKeys): string => JSON.stringify({ keys: [keys.publicJwk] });

export interface MintOptions {
  role: keyof typeof ROLE_GROUPS | 'none';
  subject?: string;
  ttlSeconds?: number;
  userPoolId?: string;
  clientId?: string;
}

/** A Cognito-shaped ID token for a local analyst or admin. */
export const mintToken = async (keys: LocalKeys, options: MintOptions): Promise<string> => {
  const userPoolId = options.userPoolId ?? DEFAULTS.localUserPoolId;
  const key = await importJWK(keys.privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    token_use: 'id',
    'cognito:groups': options.role === 'none' ? [] : [ROLE_GROUPS[options.role]],
    'cognito:username': options.subject ?? `local-${options.role}`,
    auth_time: now,
  })
    .setProtectedHeader({ alg: 'RS256', kid: keys.privateJwk.kid as string, typ: 'JWT' })
    .setSubject(options.subject ?? `local-${options.role}`)
    .setIssuer(issuerOf(userPoolId))
    .setAudience(options.clientId ?? DEFAULTS.localUserPoolClientId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(key);
};
