/**
 * GA4's Measurement Protocol (`/mp/collect`) as documented: `measurement_id` and `api_secret` in
 * the query, a body with `client_id` and at most 25 `events`. It answers 2xx whatever it is sent —
 * a malformed event is dropped silently, counted here as `dropped` so tests can see what vanished.
 *
 * And the User Deletion API behind Google's OAuth for service accounts: `/token` takes a JWT bearer
 * assertion (RS256, verified with the service account's public key; `iss`, `aud`, `scope`, `exp`
 * checked) and answers an access token; `/analytics/v3/userDeletion/userDeletionRequests:upsert`
 * takes `{kind, id: {type, userId}, propertyId}` with that token (401 without, 403 without the
 * `analytics.user.deletion` scope) and answers the request with its `deletionRequestTime`.
 */
import { createVerify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type FakeAnswer, type FakeServer, startFakeServer } from './server';

export interface FakeGa4 extends FakeServer {
  /** Events GA4 would keep, with their request's client and user ids. */
  collected: { clientId: string; userId?: string; name: string; params: Record<string, unknown> }[];
  /** Events (or whole requests) GA4 would drop without saying so. */
  dropped: number;
  /** Access tokens issued, and user deletion requests taken. */
  tokens: number;
  deletions: { type: string; userId: string; propertyId: string }[];
}

export interface FakeServiceAccount {
  clientEmail: string;
  /** PEM: what the token endpoint verifies assertions with. */
  publicKey: string;
}

const DELETION_SCOPE = 'https://www.googleapis.com/auth/analytics.user.deletion';
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Google's token endpoint for the JWT bearer grant: the assertion verified as Google does. */
const issueToken = (
  f: FakeGa4,
  body: string,
  account: FakeServiceAccount,
  tokens: Map<string, string>,
): FakeAnswer => {
  const form = new URLSearchParams(body);
  const refuse = (error_description: string) => ({
    status: 400,
    body: { error: 'invalid_grant', error_description },
  });
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('grant_type');
  const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
  if (!header || !claims || !signature) return refuse('malformed assertion');
  const verified = createVerify('RSA-SHA256')
    .update(`${header}.${claims}`)
    .verify(account.publicKey, Buffer.from(signature, 'base64url'));
  if (!verified || decode(header).alg !== 'RS256') return refuse('Invalid JWT Signature.');
  const c = decode(claims) as { iss?: string; aud?: string; scope?: string; iat?: number; exp?: number };
  const now = Date.now() / 1000;
  if (c.iss !== account.clientEmail) return refuse('Invalid issuer');
  if (c.aud !== `${f.url}/token`) return refuse('Invalid audience');
  if (!(typeof c.exp === 'number' && c.exp > now && typeof c.iat === 'number' && c.exp - c.iat <= 3600))
    return refuse(
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe',
    );
  const token = `ya29.fake-${++f.tokens}`;
  tokens.set(token, c.scope ?? '');
  return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
};

const upsertDeletion = (f: FakeGa4, req: IncomingMessage, body: string, tokens: Map<string, string>) => {
  const scope = tokens.get(String(req.headers.authorization).replace(/^Bearer /, ''));
  if (scope === undefined)
    return {
      status: 401,
      body: { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Invalid Credentials' } },
    };
  if (!scope.split(' ').includes(DELETION_SCOPE))
    return {
      status: 403,
      body: { error: { code: 403, status: 'PERMISSION_DENIED', message: 'Insufficient Permission' } },
    };
  const input = JSON.parse(body) as {
    kind?: string;
    id?: { type?: string; userId?: string };
    propertyId?: string;
  };
  if (
    input.kind !== 'analytics#userDeletionRequest' ||
    !['CLIENT_ID', 'USER_ID', 'APP_INSTANCE_ID'].includes(String(input.id?.type)) ||
    !input.id?.userId ||
    !input.propertyId
  )
    return {
      status: 400,
      body: { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Invalid request' } },
    };
  f.deletions.push({ type: String(input.id.type), userId: input.id.userId, propertyId: input.propertyId });
  return { status: 200, body: { ...input, deletionRequestTime: new Date().toISOString() } };
};

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const RESERVED = /^(google_|ga_|firebase_)/;

export const startFakeGa4 = async (auth: {
  measurementId: string;
  apiSecret: string;
  serviceAccount?: FakeServiceAccount;
}): Promise<FakeGa4> => {
  let fake: FakeGa4 | undefined;
  const tokens = new Map<string, string>();
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeGa4;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token' && auth.serviceAccount)
      return issueToken(f, body, auth.serviceAccount, tokens);
    if (url.pathname === '/analytics/v3/userDeletion/userDeletionRequests:upsert')
      return upsertDeletion(f, req, body, tokens);
    if (url.pathname !== '/mp/collect') return { status: 404 };
    let payload: {
      client_id?: unknown;
      user_id?: unknown;
      events?: { name?: unknown; params?: Record<string, unknown> }[];
    };
    try {
      payload = JSON.parse(body);
    } catch {
      f.dropped++;
      return { status: 204 };
    }
    const authorized =
      url.searchParams.get('measurement_id') === auth.measurementId &&
      url.searchParams.get('api_secret') === auth.apiSecret;
    const events = Array.isArray(payload.events) ? payload.events : [];
    if (!authorized || typeof payload.client_id !== 'string' || events.length > 25) {
      f.dropped += Math.max(1, events.length);
      return { status: 204 };
    }
    for (const e of events) {
      const params = e.params ?? {};
      const ok =
        typeof e.name === 'string' &&
        NAME.test(e.name) &&
        !RESERVED.test(e.name) &&
        Object.keys(params).length <= 25 &&
        Object.entries(params).every(([k, v]) => NAME.test(k) && (typeof v !== 'string' || v.length <= 100));
      if (!ok) f.dropped++;
      else
        f.collected.push({
          clientId: payload.client_id,
          ...(typeof payload.user_id === 'string' && { userId: payload.user_id }),
          name: e.name as string,
          params,
        });
    }
    return { status: 204 };
  });
  fake = Object.assign(server, { collected: [], dropped: 0, tokens: 0, deletions: [] });
  return fake;
};
