/**
 * The one authentication step, driven by the route's auth kind in the route table. Write keys
 * come as Segment's Basic form or `x-api-key` (on Segment routes also in the body or the path);
 * analysts and admins as Cognito Bearer JWTs.
 * Missing or bad credentials: 401; right credentials, wrong role: 403.
 */
import { ENV } from '../../lib/config';
import type { AuthKind } from '../../lib/routes';
import { Problem } from '../core/problem';
import type { JwtAuthenticator } from './jwt';
import type { Principal } from './types';
import type { WriteKeyAuthenticator } from './write-keys';

export interface Authenticators {
  writeKey?: WriteKeyAuthenticator;
  jwt?: JwtAuthenticator;
}

/** What each auth kind needs, so a handler module can be checked at init. */
export const requiredAuthenticator = (kind: AuthKind): keyof Authenticators | undefined =>
  kind === 'writeKey' ? 'writeKey' : kind === 'none' ? undefined : 'jwt';

const unauthorized = (detail: string) =>
  new Problem(401, 'unauthorized', detail, undefined, {
    headers: { 'www-authenticate': 'Basic realm="pulse", Bearer realm="pulse"' },
  });

/** The write key of a request: `Authorization: Basic base64(key:)` or `x-api-key`. */
export const writeKeyFromHeaders = (headers: Record<string, string | undefined>): string | undefined => {
  const apiKey = headers['x-api-key']?.trim();
  if (apiKey) return apiKey;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  // Segment sends the key as the user name with an empty password: `key:`.
  const key = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  return key || undefined;
};

/**
 * The write key a Segment-compatible request carries besides the headers: the settings route's
 * path parameter, or the `writeKey` body field analytics.js and the mobile SDKs send.
 */
export const segmentWriteKey = (
  pathParameters: Record<string, string | undefined> | undefined,
  body: unknown,
): string | undefined => {
  const fromPath = pathParameters?.writeKey;
  if (fromPath) return fromPath;
  const fromBody =
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as { writeKey?: unknown }).writeKey
      : undefined;
  return typeof fromBody === 'string' && fromBody.trim() !== '' ? fromBody.trim() : undefined;
};

/**
 * On the local stack (it hands the functions its JWKS), how to get a token it trusts: a token
 * minted with another stack's key is the usual cause of a local 401.
 */
const localTokenHint = (): string =>
  process.env[ENV.localJwks]
    ? '. Local stack: npm run -s token -- --role analyst|admin mints one it trusts (it finds the running stack by itself)'
    : '';

const bearerToken = (headers: Record<string, string | undefined>): string | undefined =>
  /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];

export const authenticate = async (
  kind: AuthKind,
  headers: Record<string, string | undefined>,
  authenticators: Authenticators,
  bodyWriteKey?: string,
): Promise<Principal> => {
  if (kind === 'none') return { kind: 'anonymous' };

  if (kind === 'writeKey') {
    const writeKey = writeKeyFromHeaders(headers) ?? bodyWriteKey;
    if (!writeKey) {
      throw unauthorized(
        bearerToken(headers)
          ? 'This route takes a source write key, not a Bearer token'
          : 'Missing write key (Authorization: Basic base64(writeKey:) or x-api-key)',
      );
    }
    const source = await (authenticators.writeKey as WriteKeyAuthenticator)(writeKey);
    if (!source) throw unauthorized('Unknown or revoked write key');
    return { kind: 'source', source };
  }

  const token = bearerToken(headers);
  if (!token)
    throw unauthorized(`Missing Bearer token: this route needs the ${kind} role${localTokenHint()}`);
  let user: Awaited<ReturnType<JwtAuthenticator>>;
  try {
    user = await (authenticators.jwt as JwtAuthenticator)(token);
  } catch {
    throw unauthorized(`Invalid or expired token${localTokenHint()}`);
  }
  const allowed =
    kind === 'admin' ? user.roles.has('admin') : user.roles.has('analyst') || user.roles.has('admin');
  if (!allowed) throw new Problem(403, 'forbidden', `This route needs the ${kind} role`);
  return { kind: 'user', subject: user.subject, roles: user.roles };
};
