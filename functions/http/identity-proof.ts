/**
 * Identity verification at the HTTP edge: the user hash a request presents (`x-user-hash`, or a
 * `userHash` body field for SDKs that cannot set headers), judged by the policy of
 * core/identity-verification.ts for the write key's source. A refusal is a 403 naming the field.
 */
import {
  type IdentityAction,
  type IdentityStanding,
  type IdentityVerificationMode,
  judgeIdentity,
} from '../core/identity-verification';
import { Problem } from '../core/problem';
import type { HttpRequest } from './types';

export const USER_HASH_HEADER = 'x-user-hash';
/** Longer than any user hash (64 hex characters): not worth reading. */
const MAX_USER_HASH_LENGTH = 128;

/** The user hash a request presents: the header, else the body's `userHash`; undefined if none. */
export const presentedUserHash = (
  headers: Record<string, string | undefined> | undefined,
  body: unknown,
): string | undefined => {
  const fromHeader = headers?.[USER_HASH_HEADER]?.trim();
  const fromBody =
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as { userHash?: unknown }).userHash
      : undefined;
  const hash = fromHeader || (typeof fromBody === 'string' ? fromBody.trim() : undefined);
  return hash && hash.length <= MAX_USER_HASH_LENGTH ? hash : undefined;
};

/**
 * How this request stands for `userId` (undefined: it names only an anonymous id), or a 403
 * when a client key acts for a user id without its user hash under `required`.
 */
export const requireIdentity = (
  request: Pick<HttpRequest, 'principal' | 'event' | 'body'>,
  options: {
    signingKey: Uint8Array;
    mode: IdentityVerificationMode;
    userId: string | undefined;
    action: IdentityAction;
  },
): IdentityStanding => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const verdict = judgeIdentity(options.signingKey, {
    mode: options.mode,
    source: request.principal.source,
    userId: options.userId,
    userHash: presentedUserHash(request.event.headers, request.body),
    action: options.action,
  });
  if (!verdict.ok) throw new Problem(403, 'forbidden', verdict.errors[0]?.message, verdict.errors);
  return verdict.standing;
};
