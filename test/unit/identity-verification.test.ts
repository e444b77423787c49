import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  identitySecret,
  identityVerificationMode,
  judgeIdentity,
  userHash,
  verifyUserHash,
} from '../../functions/core/identity-verification';
import { Problem } from '../../functions/core/problem';
import type { Source } from '../../functions/core/sources';
import { presentedUserHash, requireIdentity } from '../../functions/http/identity-proof';
import type { Principal } from '../../functions/http/types';
import { DEFAULTS } from '../../lib/config';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const otherKey = Buffer.from('fedcba9876543210fedcba9876543210');
const client = { sourceId: 'src_web', kind: 'client' as const };
const server = { sourceId: 'src_backend', kind: 'server' as const };
const secret = identitySecret(key, client.sourceId);

describe('identity secrets and user hashes', () => {
  it('derive one secret per source and signing key, nothing stored', () => {
    expect(secret).toMatch(/^ivs_[A-Za-z0-9_-]{43}$/);
    expect(identitySecret(key, client.sourceId)).toBe(secret);
    expect(identitySecret(key, 'src_ios')).not.toBe(secret);
    expect(identitySecret(otherKey, client.sourceId)).not.toBe(secret);
  });

  it('compute the documented formula: hex HMAC-SHA256 of the user id, keyed by the secret string', () => {
    // The formula of docs/identity-verification.md, as a customer's backend computes it.
    expect(userHash('ivs_example', 'maria')).toBe(
      createHmac('sha256', Buffer.from('ivs_example', 'utf8'))
        .update(Buffer.from('maria', 'utf8'))
        .digest('hex'),
    );
    expect(userHash(secret, 'maria')).toMatch(/^[0-9a-f]{64}$/);
    expect(userHash(secret, 'Maria')).not.toBe(userHash(secret, 'maria'));
    expect(userHash(secret, 'müller')).toBe(createHmac('sha256', secret).update('müller').digest('hex'));
  });

  it('verify only the hash of this user under this secret', () => {
    const hash = userHash(secret, 'maria');
    expect(verifyUserHash(secret, 'maria', hash)).toBe(true);
    expect(verifyUserHash(secret, 'maria', hash.toUpperCase())).toBe(true);
    expect(verifyUserHash(secret, 'marie', hash)).toBe(false);
    expect(verifyUserHash(identitySecret(key, 'src_ios'), 'maria', hash)).toBe(false);
    for (const bad of [undefined, '', hash.slice(1), `${hash}0`, `${hash.slice(0, 63)}g`, ` ${hash}`])
      expect(verifyUserHash(secret, 'maria', bad), String(bad)).toBe(false);
    fc.assert(
      fc.property(fc.string(), fc.string(), (userId, presented) => {
        fc.pre(presented.toLowerCase() !== userHash(secret, userId));
        expect(verifyUserHash(secret, userId, presented)).toBe(false);
      }),
    );
  });

  it('read the setting safely: anything but off is required, and required is the default', () => {
    expect(identityVerificationMode('off')).toBe('off');
    expect(identityVerificationMode('required')).toBe('required');
    expect(identityVerificationMode(undefined)).toBe('required');
    expect(identityVerificationMode('OFF ')).toBe('required');
    expect(DEFAULTS.identityVerification).toBe('required');
  });
});

describe('what each key kind may do for a person', () => {
  const judge = (over: Partial<Parameters<typeof judgeIdentity>[1]>) =>
    judgeIdentity(key, {
      mode: 'required',
      source: client,
      userId: 'maria',
      userHash: undefined,
      action: 'identify',
      ...over,
    });

  it('a client key acts for a user id only with its user hash, when required', () => {
    expect(judge({})).toMatchObject({ ok: false, errors: [{ path: 'userHash' }] });
    expect(judge({ userHash: userHash(secret, 'mallory') })).toMatchObject({ ok: false });
    expect(judge({ userHash: userHash(identitySecret(key, 'src_other'), 'maria') })).toMatchObject({
      ok: false,
    });
    expect(judge({ userHash: userHash(secret, 'maria') })).toEqual({ ok: true, standing: 'verified' });
    for (const action of ['consent', 'identify', 'promotion'] as const)
      expect(judge({ action }).ok, action).toBe(false);
  });

  it('anonymous ids stay open, server keys are trusted, and off checks nothing', () => {
    expect(judge({ userId: undefined })).toEqual({ ok: true, standing: 'anonymous' });
    expect(judge({ source: server })).toEqual({ ok: true, standing: 'server' });
    expect(judge({ mode: 'off' })).toEqual({ ok: true, standing: 'unchecked' });
  });
});

describe('the user hash at the HTTP edge', () => {
  const source: Source = {
    ...client,
    name: 'web',
    channel: 'web',
    rateLimit: 100,
    createdAt: '2026-01-01T00:00:00Z',
  };
  const request = (headers: Record<string, string>, body?: unknown, principal?: Principal) => ({
    principal: principal ?? ({ kind: 'source', source } as const),
    event: { headers } as unknown as APIGatewayProxyEventV2,
    body,
  });
  const options = {
    signingKey: key,
    mode: 'required' as const,
    userId: 'maria',
    action: 'promotion' as const,
  };
  const hash = userHash(secret, 'maria');

  it('reads the proof from x-user-hash, else the userHash body field', () => {
    expect(presentedUserHash({ 'x-user-hash': ` ${hash} ` }, { userHash: 'other' })).toBe(hash);
    expect(presentedUserHash({}, { userHash: hash })).toBe(hash);
    expect(presentedUserHash({}, [hash])).toBeUndefined();
    expect(presentedUserHash({}, { userHash: 7 })).toBeUndefined();
    expect(presentedUserHash({ 'x-user-hash': 'a'.repeat(129) }, undefined)).toBeUndefined();
    expect(presentedUserHash(undefined, undefined)).toBeUndefined();
  });

  it('answers 403 naming userHash without a valid proof, and the standing with one', () => {
    expect(requireIdentity(request({ 'x-user-hash': hash }), options)).toBe('verified');
    expect(requireIdentity(request({}, { userHash: hash }), options)).toBe('verified');
    expect(requireIdentity(request({}), { ...options, userId: undefined })).toBe('anonymous');
    for (const r of [request({}), request({ 'x-user-hash': userHash(secret, 'mallory') })]) {
      const error = (() => {
        try {
          requireIdentity(r, options);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(Problem);
      expect(error).toMatchObject({ status: 403, code: 'forbidden', errors: [{ path: 'userHash' }] });
    }
    expect(() => requireIdentity(request({}, undefined, { kind: 'anonymous' }), options)).toThrow(Problem);
  });
});
