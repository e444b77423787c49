/**
 * Signed tokens and keyed hashes, from one HMAC key (Secrets Manager in AWS, a local key
 * locally). Pure: the key is passed in.
 *
 * A token is `<kind>.<payload>.<signature>`, base64url, HMAC-SHA256 over `<kind>.<payload>`.
 * There is no algorithm field, so nothing like JWT's `alg: none` or algorithm confusion can
 * be asked for: the kind fixes the algorithm, and a token of one kind never verifies as
 * another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'pct1' | 'plk1';

const mac = (key: Uint8Array, data: string) => createHmac('sha256', key).update(data).digest();

export const signToken = (key: Uint8Array, kind: TokenKind, payload: object): string => {
  const body = `${kind}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${mac(key, body).toString('base64url')}`;
};

/** The payload of a token this key signed, or undefined for anything else. */
export const verifyToken = (
  key: Uint8Array,
  kind: TokenKind,
  token: string,
): Record<string, unknown> | undefined => {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== kind) return undefined;
  const signature = Buffer.from(parts[2] as string, 'base64url');
  // Only the canonical encoding: otherwise spare bits would make one token many.
  if (signature.toString('base64url') !== parts[2]) return undefined;
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A keyed hash of a person's id: what erasure keeps (proof of consent, the suppression marker)
 * in place of the id. Without the key it cannot be reversed by hashing candidate ids.
 */
export const keyedIdHash = (key: Uint8Array, id: string): string =>
  createHmac('sha256', key).update('id\u0000').update(id).digest('base64url');
