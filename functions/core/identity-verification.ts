/**
 * Identity verification, as Intercom and Zendesk do it: a public write key ships inside an app,
 * so anyone can call Pulse with it and name any user id. With `pulse:identityVerification=
 * required`, a client (`pk_`) source may act for a user id — record consent, identify, fetch
 * promotions — only with a proof that the customer's own backend, which knows who is signed in,
 * computed for that id: the **user hash**. Pure: the signing key is passed in.
 *
 *   userHash = hex(HMAC-SHA256(key = identitySecret, message = UTF-8 userId))
 *
 * The identity secret is per source: `ivs_` + base64url(HKDF-SHA256(signing key, "pulse",
 * "identity-verification:" + sourceId, 32 bytes)). Why per source and derived:
 * - per source, like Intercom's secret per app (web, iOS, Android): the verifier knows the
 *   source from the write key, a hash made for one app does not work with another's key, and
 *   revoking a source retires its secret with it (no key resolves to that source any more);
 * - derived, so nothing new is stored (an HMAC key cannot be stored hashed, and an encrypted
 *   copy would be one more secret to guard): it is shown once, in the answer that creates the
 *   source — like the write key — and rotates with the signing secret or a new source;
 * - never served by a route afterwards: a `GET …/secret` would make every admin token a way to
 *   forge any user's proof.
 * docs/identity-verification.md is the customer-facing form of this.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FieldError } from './problem';
import { deriveKey } from './signing';
import type { SourceKind } from './sources';

export const IDENTITY_VERIFICATION_MODES = ['required', 'off'] as const;
export type IdentityVerificationMode = (typeof IDENTITY_VERIFICATION_MODES)[number];

/** The setting as the environment gives it; anything unknown is the safe `required`. */
export const identityVerificationMode = (value: string | undefined): IdentityVerificationMode =>
  value === 'off' ? 'off' : 'required';

const SECRET_PREFIX = 'ivs_';

/** The identity secret of a source (see the module comment): what its backend signs user ids with. */
export const identitySecret = (signingKey: Uint8Array, sourceId: string): string =>
  `${SECRET_PREFIX}${deriveKey(signingKey, `identity-verification:${sourceId}`).toString('base64url')}`;

/** The user hash of a user id under a source's identity secret: lowercase hex, 64 characters. */
export const userHash = (secret: string, userId: string): string =>
  createHmac('sha256', secret).update(userId, 'utf8').digest('hex');

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Whether `presented` is the user hash of `userId` under `secret`; constant time in the hash. */
export const verifyUserHash = (secret: string, userId: string, presented: string | undefined): boolean => {
  if (presented === undefined || !HEX_SHA256.test(presented)) return false;
  const expected = createHmac('sha256', secret).update(userId, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(presented, 'hex'));
};

/** What a write key may do for a person: the actions identity verification guards. */
export type IdentityAction = 'consent' | 'identify' | 'promotion';

/**
 * How a request stands for the person it names:
 * - `server`: a server (`sk_`) source — its key never leaves the customer's backend, trusted;
 * - `verified`: a client source that presented a valid user hash for the user id;
 * - `anonymous`: no user id, only an anonymous id (open: a device names its own ids);
 * - `unchecked`: identity verification is off.
 */
export type IdentityStanding = 'server' | 'verified' | 'anonymous' | 'unchecked';

export type IdentityVerdict = { ok: true; standing: IdentityStanding } | { ok: false; errors: FieldError[] };

export interface IdentityRequest {
  mode: IdentityVerificationMode;
  source: { sourceId: string; kind: SourceKind };
  /** The user id the request acts for; undefined when it names only an anonymous id. */
  userId: string | undefined;
  /** The user hash presented (header or body), if any. */
  userHash: string | undefined;
  action: IdentityAction;
}

const ACTION_NAMES: Record<IdentityAction, string> = {
  consent: 'record consent',
  identify: 'identify',
  promotion: 'fetch a promotion',
};

/** Whether this source may act for this person: the policy of each key kind (module comment). */
export const judgeIdentity = (signingKey: Uint8Array, request: IdentityRequest): IdentityVerdict => {
  if (request.source.kind === 'server') return { ok: true, standing: 'server' };
  if (request.mode === 'off') return { ok: true, standing: 'unchecked' };
  if (request.userId === undefined) return { ok: true, standing: 'anonymous' };
  const secret = identitySecret(signingKey, request.source.sourceId);
  if (verifyUserHash(secret, request.userId, request.userHash)) return { ok: true, standing: 'verified' };
  const message =
    request.userHash === undefined
      ? `A client key may ${ACTION_NAMES[request.action]} for a user id only with its user hash (x-user-hash or userHash)`
      : 'The user hash is not the one for this user id and source';
  return { ok: false, errors: [{ path: 'userHash', message }] };
};
