/**
 * Signing in. With Cognito: the Hosted UI, authorization code with PKCE (S256) — the verifier
 * and state live in sessionStorage only for the round trip. Locally: `npm start` mints a dev token
 * for a chosen role. Either way the session token (the ID token) is the only thing the console
 * keeps, in sessionStorage, and who is signed in is read from it.
 */
import { config } from './config';

const TOKEN = 'pulse.token';
const PKCE = 'pulse.pkce';

export type Role = 'admin' | 'analyst' | 'none';

export interface Session {
  token: string;
  role: Role;
  name: string;
  expiresAt: number;
}

const claims = (token: string): Record<string, unknown> => {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
};

/** The current session, or undefined when signed out or expired. */
export const session = (): Session | undefined => {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return undefined;
  try {
    const c = claims(token);
    const expiresAt = Number(c.exp) * 1000;
    if (!(expiresAt > Date.now())) {
      sessionStorage.removeItem(TOKEN);
      return undefined;
    }
    const groups = Array.isArray(c['cognito:groups']) ? (c['cognito:groups'] as string[]) : [];
    const role: Role = groups.includes('admin') ? 'admin' : groups.includes('analyst') ? 'analyst' : 'none';
    return { token, role, name: String(c['cognito:username'] ?? c.email ?? c.sub ?? ''), expiresAt };
  } catch {
    sessionStorage.removeItem(TOKEN);
    return undefined;
  }
};

const listeners = new Set<() => void>();
export const onSessionChange = (f: () => void) => {
  listeners.add(f);
  return () => listeners.delete(f);
};
const changed = () => {
  for (const f of listeners) f();
};

export const signOut = () => {
  const had = sessionStorage.getItem(TOKEN) !== null;
  sessionStorage.removeItem(TOKEN);
  changed();
  const auth = config().auth;
  if (had && auth.kind === 'cognito')
    window.location.assign(
      `${auth.domain}/logout?client_id=${encodeURIComponent(auth.clientId)}&logout_uri=${encodeURIComponent(auth.logoutUri)}`,
    );
};

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** Off to the Hosted UI, with a fresh PKCE verifier and state. */
export const signInWithCognito = async () => {
  const auth = config().auth;
  if (auth.kind !== 'cognito') return;
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: 'openid email profile',
    code_challenge_method: 'S256',
    code_challenge: challenge,
    state,
  });
  window.location.assign(`${auth.domain}/oauth2/authorize?${q}`);
};

/** Back from the Hosted UI: trade the code for tokens, then drop it from the address bar. */
export const completeCognitoSignIn = async (): Promise<void> => {
  const auth = config().auth;
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  if (auth.kind !== 'cognito' || !code) return;
  const pending = JSON.parse(sessionStorage.getItem(PKCE) ?? '{}') as { verifier?: string; state?: string };
  sessionStorage.removeItem(PKCE);
  window.history.replaceState(null, '', window.location.pathname + window.location.hash);
  if (!pending.verifier || pending.state !== params.get('state'))
    throw new Error('Sign-in expired or was not started here: sign in again');
  const res = await fetch(`${auth.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: auth.clientId,
      code,
      redirect_uri: auth.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  if (!res.ok) throw new Error(`Sign-in failed (${res.status})`);
  const tokens = (await res.json()) as { id_token: string };
  sessionStorage.setItem(TOKEN, tokens.id_token);
  changed();
};

/** Local stack only: a dev token for the chosen role, minted by `npm start`. */
export const signInLocally = async (role: Role) => {
  const res = await fetch(new URL('local-token', document.baseURI), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
  });
  if (!res.ok) throw new Error(`Local sign-in failed (${res.status})`);
  const { token } = (await res.json()) as { token: string };
  sessionStorage.setItem(TOKEN, token);
  changed();
};
