import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupsOf, type JwtAuthenticator, jwtAuthenticator } from '../../functions/http/jwt';
import { DEFAULTS, ENV } from '../../lib/config';
import { issuerOf } from '../../lib/local/keys';

/** Tokens shaped like Cognito's, with the claims each case needs (the local stack's key setup). */
let sign: (claims: JWTPayload, options?: { exp?: boolean; sub?: string | null }) => Promise<string>;
let verify: JwtAuthenticator;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-key';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  verify = jwtAuthenticator({ [ENV.localJwks]: JSON.stringify(jwks) });
  sign = async (claims, options = {}) => {
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT({ token_use: 'id', auth_time: now, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuerOf(DEFAULTS.localUserPoolId))
      .setAudience(DEFAULTS.localUserPoolClientId)
      .setIssuedAt(now);
    if (options.sub !== null) jwt = jwt.setSubject(options.sub ?? 'someone');
    if (options.exp !== false) jwt = jwt.setExpirationTime(now + 600);
    return jwt.sign(privateKey);
  };
});

describe('analyst and admin tokens', () => {
  it('grant a role for an exact group name, in an array or as a single string', async () => {
    expect((await verify(await sign({ 'cognito:groups': ['admin'] }))).roles).toEqual(new Set(['admin']));
    expect((await verify(await sign({ 'cognito:groups': 'analyst' }))).roles).toEqual(new Set(['analyst']));
    expect((await verify(await sign({ 'cognito:groups': ['analyst', 'admin'] }))).roles).toEqual(
      new Set(['analyst', 'admin']),
    );
  });

  it('never match a group by substring', async () => {
    for (const groups of [
      'superadministrators',
      'administrator',
      'not-admin,analyst',
      ['superadmin'],
      7,
      { admin: true },
    ])
      expect((await verify(await sign({ 'cognito:groups': groups }))).roles, JSON.stringify(groups)).toEqual(
        new Set(),
      );
    expect(groupsOf('admin analyst')).toEqual(new Set(['admin analyst']));
  });

  it('refuse tokens without an expiry or a subject', async () => {
    await expect(verify(await sign({ 'cognito:groups': ['admin'] }, { exp: false }))).rejects.toThrow();
    await expect(verify(await sign({ 'cognito:groups': ['admin'] }, { sub: null }))).rejects.toThrow();
    await expect(verify(await sign({ 'cognito:groups': ['admin'] }, { sub: '' }))).rejects.toThrow();
    expect((await verify(await sign({ 'cognito:groups': ['admin'] }))).subject).toBe('someone');
  });
});
