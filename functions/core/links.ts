/**
 * Tracked e-mail links: the sealed token (`plk2`, AES-256-GCM, see signing.ts) that carries the
 * target URL, campaign, user and expiry; what following one records (a `click` through the
 * `link` door); and when stored consent lets it be recorded. Pure.
 *
 * Nothing is stored per link: the token is the link. A token that does not verify, has expired,
 * or names anything but an http(s) URL is no link at all — the route answers 404 and never
 * redirects, so it cannot be used as an open redirect. The token is opaque: a link forwarded
 * or left in a proxy's log does not tell whom it was sent to.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { type CanonicalEvent, campaignIdSchema, doorEvent, personIdSchema } from './events';
import { openToken, sealToken, verifyToken } from './signing';
import './zod';

export const DEFAULT_LINK_TTL_DAYS = 90;
export const MAX_LINK_TTL_DAYS = 365;
export const MAX_URL_LENGTH = 2048;
/** Longer than any token we sign (URLs are at most 2 KB): refused before any HMAC work. */
export const MAX_LINK_TOKEN_LENGTH = 8192;
/** Clicks of one link within the same minute are one click (a double click, a client retry). */
export const CLICK_WINDOW_MS = 60_000;
/** The source id the link door stamps on its events (no write key is involved). */
export const LINK_SOURCE_ID = 'link';

/** What a `location` header may carry: visible ASCII only (RFC 9110 field values, minus obs-text). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;
/** C0 and C1 controls and DEL: the URL parser would silently drop some; a link refuses them all. */
const hasControlCharacter = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
};

/**
 * The URL as a redirect sends it: the WHATWG parser's serialisation (IDN hosts in punycode,
 * non-ASCII paths and queries percent-encoded), when it is an absolute http(s) URL that makes a
 * valid header value; undefined for anything else.
 */
export const redirectLocation = (value: string): string | undefined => {
  if (hasControlCharacter(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') return undefined;
  return HEADER_SAFE.test(url.href) && url.href.length <= MAX_URL_LENGTH ? url.href : undefined;
};

export const linkBodySchema = z.strictObject({
  url: z.string().check(
    z.maxLength(MAX_URL_LENGTH),
    z.refine(
      (value) => redirectLocation(value) !== undefined,
      `Expected an absolute http:// or https:// URL, without control characters, at most ${MAX_URL_LENGTH} characters once encoded`,
    ),
  ),
  campaignId: campaignIdSchema,
  userId: personIdSchema,
  channel: z._default(z.literal('email'), 'email'),
  /** How long the link works; default DEFAULT_LINK_TTL_DAYS. */
  expiresInDays: z.optional(z.int().check(z.gte(1), z.lte(MAX_LINK_TTL_DAYS))),
});
export type LinkBody = z.infer<typeof linkBodySchema>;

export interface LinkClaims {
  /** Target URL. */
  url: string;
  /** Campaign. */
  cmp: string;
  /** The user the link was sent to. */
  sub: string;
  ch: 'email';
  iat: number;
  exp: number;
}

export const signLink = (
  key: Uint8Array,
  body: LinkBody,
  now: Date,
): { token: string; expiresAt: string } => {
  const iat = Math.floor(now.getTime() / 1000);
  const claims: LinkClaims = {
    // Normalised once, here: the token carries exactly what the redirect will send.
    url: redirectLocation(body.url) ?? body.url,
    cmp: body.campaignId,
    sub: body.userId,
    ch: 'email',
    iat,
    exp: iat + (body.expiresInDays ?? DEFAULT_LINK_TTL_DAYS) * 86_400,
  };
  return { token: sealToken(key, 'plk2', claims), expiresAt: new Date(claims.exp * 1000).toISOString() };
};

/**
 * The claims of a valid, unexpired link token this key made; undefined for anything else. The
 * URL is the one to redirect to (redirectLocation), whatever the token carried.
 *
 * `plk1` tokens (signed, readable) are what links were before `plk2`: they are still followed
 * until the last one sent expires (MAX_LINK_TTL_DAYS after the deploy that made `plk2`), then
 * this branch can go.
 */
export const readLink = (key: Uint8Array, token: string, now: Date): LinkClaims | undefined => {
  const p = token.startsWith('plk2.') ? openToken(key, 'plk2', token) : verifyToken(key, 'plk1', token);
  if (
    !p ||
    typeof p.url !== 'string' ||
    typeof p.cmp !== 'string' ||
    typeof p.sub !== 'string' ||
    typeof p.exp !== 'number' ||
    typeof p.iat !== 'number' ||
    p.ch !== 'email'
  )
    return undefined;
  const url = redirectLocation(p.url);
  if (p.exp * 1000 <= now.getTime() || url === undefined) return undefined;
  return { url, cmp: p.cmp, sub: p.sub, ch: 'email', iat: p.iat, exp: p.exp };
};

/**
 * Whether stored consent lets a click be recorded, given the current consent of the user and
 * of each id linked to them: some id grants analytics and none refuses it (a refusal on any of
 * a person's devices wins, as it does in the consumer). When only a linked anonymous id grants,
 * the click carries that id too, so the consumer's own consent check sees the grant.
 */
export const clickConsent = (
  userId: string,
  ids: readonly string[],
  current: ReadonlyMap<string, { purposes: { analytics?: boolean } }>,
): { record: false } | { record: true; anonymousId?: string } => {
  const granting: string[] = [];
  for (const id of ids) {
    const record = current.get(id);
    if (!record) continue;
    if (record.purposes.analytics !== true) return { record: false };
    granting.push(id);
  }
  if (granting.length === 0) return { record: false };
  if (granting.includes(userId)) return { record: true };
  return { record: true, anonymousId: granting[0] as string };
};

/**
 * The click a followed link records. Its id is derived from the token and the minute, so a
 * double click (or a browser's retry) counts once, and a click on another day counts again.
 */
export const clickEvent = (
  claims: LinkClaims,
  token: string,
  person: { userId: string; anonymousId?: string },
  receivedAt: Date,
): CanonicalEvent => {
  const minute = Math.floor(receivedAt.getTime() / CLICK_WINDOW_MS);
  const eventId = `l-${createHash('sha256').update(token).update(`\n${minute}`).digest('base64url').slice(0, 32)}`;
  return doorEvent(
    {
      eventId,
      type: 'click',
      userId: person.userId,
      anonymousId: person.anonymousId,
      campaignId: claims.cmp,
      channel: 'email',
      deviceType: 'other',
      data: { elementId: 'email-link' },
      properties: {},
      sourceId: LINK_SOURCE_ID,
      door: 'link',
    },
    receivedAt,
  );
};
