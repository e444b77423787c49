/**
 * Google's OAuth 2.0 for service accounts (server to server), as Google documents it: a JWT signed
 * RS256 with the service account's private key — `iss` its e-mail, `scope`, `aud` the token URI,
 * `iat`, `exp` at most an hour on — exchanged at the token URI (`grant_type`
 * `urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token. Pure: builds the exchange's
 * request and reads its answer; the transport sends it.
 */
import { createSign } from 'node:crypto';
import { httpOutcome, type ItemOutcome, type VendorAnswer } from './delivery';
import type { HttpRequest } from './vendors';

/** The fields of a service account's JSON key that the exchange needs. */
export interface ServiceAccount {
  client_email: string;
  private_key: string;
  token_uri: string;
}

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** The service account in a JSON key file's text, or why it is not one. */
export const parseServiceAccount = (text: string): ServiceAccount | { invalid: string } => {
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { invalid: 'not JSON: expected the service account key file' };
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string')
    return { invalid: 'expected client_email and private_key (a service account key file)' };
  return {
    client_email: key.client_email,
    private_key: key.private_key,
    token_uri: typeof key.token_uri === 'string' ? key.token_uri : GOOGLE_TOKEN_URI,
  };
};

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** The signed assertion: valid from `now` for an hour. */
export const serviceAccountJwt = (account: ServiceAccount, scope: string, now: Date): string => {
  const iat = Math.floor(now.getTime() / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(
    JSON.stringify({ iss: account.client_email, scope, aud: account.token_uri, iat, exp: iat + 3600 }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(account.private_key);
  return `${header}.${claims}.${base64url(signature)}`;
};

/** The token request: the assertion, form-encoded, to the account's token URI. */
export const tokenRequest = (account: ServiceAccount, scope: string, now: Date): HttpRequest => ({
  url: account.token_uri,
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: serviceAccountJwt(account, scope, now),
  }).toString(),
});

/** The access token in the exchange's answer, or the outcome of a failed exchange. */
export const accessToken = (answer: VendorAnswer, now: number): { token: string } | ItemOutcome => {
  const outcome = httpOutcome(answer, now);
  if (outcome.kind !== 'delivered' || !('status' in answer)) return outcome;
  try {
    const token = (JSON.parse(answer.body) as { access_token?: unknown }).access_token;
    if (typeof token === 'string' && token !== '') return { token };
  } catch {
    // not JSON: refused below
  }
  return { kind: 'rejected', reason: `${answer.status} no access_token in the token answer` };
};
