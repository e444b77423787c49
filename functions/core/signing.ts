/**
 * Signed and sealed tokens, keyed hashes and derived keys, from one key (Secrets Manager in
 * AWS, a local key locally). Pure: the key is passed in.
 *
 * A signed token is `<kind>.<payload>.<signature>`, base64url, HMAC-SHA256 over
 * `<kind>.<payload>`: its payload is readable by whoever holds it. A sealed token is
 * `<kind>.<iv ‖ ciphertext ‖ tag>`, AES-256-GCM under a key derived for that kind, with the
 * kind as associated data: opaque, and as tamper-proof. There is no algorithm field, so
 * nothing like JWT's `alg: none` or algorithm confusion can be asked for: the kind fixes the
 * algorithm, and a token of one kind never verifies as another.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

export type TokenKind = 'pct1' | 'plk1';
export type SealedTokenKind = 'plk2';

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
  const signature = canonicalBytes(parts[2]);
  if (!signature) return undefined;
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
  try {
    return asPayload(JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
};

/**
 * A key for one purpose, derived from the signing key (HKDF-SHA256): keys for different
 * purposes are independent, and nothing new has to be stored or rotated on its own.
 */
export const deriveKey = (key: Uint8Array, purpose: string, bytes = 32): Buffer =>
  Buffer.from(hkdfSync('sha256', key, 'pulse', purpose, bytes));

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** An opaque token: the payload encrypted and authenticated under a key derived for the kind. */
export const sealToken = (key: Uint8Array, kind: SealedTokenKind, payload: object): string => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(key, `token:${kind}`), iv);
  cipher.setAAD(Buffer.from(kind));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return `${kind}.${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')}`;
};

/** The payload of a token sealed under this key and kind, or undefined for anything else. */
export const openToken = (
  key: Uint8Array,
  kind: SealedTokenKind,
  token: string,
): Record<string, unknown> | undefined => {
  const parts = token.split('.');
  const bytes = parts.length === 2 && parts[0] === kind ? canonicalBytes(parts[1]) : undefined;
  if (!bytes || bytes.length < IV_BYTES + TAG_BYTES + 2) return undefined;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      deriveKey(key, `token:${kind}`),
      bytes.subarray(0, IV_BYTES),
    );
    decipher.setAAD(Buffer.from(kind));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
    return asPayload(JSON.parse(plain));
  } catch {
    return undefined;
  }
};

/** A token part's bytes, only in its canonical encoding: otherwise spare bits would make one token many. */
const canonicalBytes = (part: string | undefined): Buffer | undefined => {
  if (part === undefined) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
};

const asPayload = (payload: unknown): Record<string, unknown> | undefined =>
  payload && typeof payload === 'object' && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)
    : undefined;

/**
 * A keyed hash of a person's id: what erasure keeps (proof of consent, the suppression marker)
 * in place of the id. Without the key it cannot be reversed by hashing candidate ids.
 */
export const keyedIdHash = (key: Uint8Array, id: string): string =>
  createHmac('sha256', key).update('id\u0000').update(id).digest('base64url');
