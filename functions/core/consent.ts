/**
 * Consent: purposes, the consent body, the consent token and the check every ingested event
 * passes when consent is required. Pure.
 */
import * as z from 'zod/mini';
import type { FieldError, ProblemCode } from './problem';
import { signToken, verifyToken } from './signing';
import './zod';

export const PURPOSES = ['analytics', 'marketing', 'personalization'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const consentBodySchema = z.strictObject({
  /** Each known purpose granted (true) or refused (false); an absent purpose is refused. */
  purposes: z.strictObject({
    analytics: z.optional(z.boolean()),
    marketing: z.optional(z.boolean()),
    personalization: z.optional(z.boolean()),
  }),
  policyVersion: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Where the consent was given: a CMP, a banner, a settings screen. */
  source: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /**
   * The subject is a device's anonymous id, not a user id: a client key may record it without a
   * user hash (identity verification), but never for an id Pulse knows as a user.
   */
  anonymous: z.optional(z.boolean()),
  /** The user hash, for SDKs that cannot set the x-user-hash header. */
  userHash: z.optional(z.string().check(z.maxLength(128))),
});
export type ConsentBody = z.infer<typeof consentBodySchema>;

export const grantedPurposes = (purposes: ConsentBody['purposes']): Purpose[] =>
  PURPOSES.filter((p) => purposes[p] === true);

export interface ConsentClaims {
  /** The subject: a user id or an anonymous id. */
  sub: string;
  pur: Purpose[];
  iat: number;
  exp: number;
}

export const issueConsentToken = (
  key: Uint8Array,
  sub: string,
  pur: Purpose[],
  now: Date,
  ttlDays: number,
) => {
  const iat = Math.floor(now.getTime() / 1000);
  const claims: ConsentClaims = { sub, pur, iat, exp: iat + ttlDays * 86_400 };
  return { token: signToken(key, 'pct1', claims), expiresAt: new Date(claims.exp * 1000).toISOString() };
};

export const readConsentToken = (key: Uint8Array, token: string): ConsentClaims | undefined => {
  const p = verifyToken(key, 'pct1', token);
  if (
    !p ||
    typeof p.sub !== 'string' ||
    typeof p.exp !== 'number' ||
    !Array.isArray(p.pur) ||
    !p.pur.every((x) => typeof x === 'string')
  )
    return undefined;
  return p as unknown as ConsentClaims;
};

export type ConsentVerdict =
  | { ok: true }
  | { ok: false; code: Extract<ProblemCode, 'consent_required' | 'consent_invalid'>; errors: FieldError[] };

/**
 * How long after a token's expiry Pulse still takes events it covered: an offline queue
 * (a phone on a plane, a tab asleep) may flush a little after the token it held expired.
 * Judged against the receipt time, which the client cannot set; the event time, which it can
 * (`timestamp`, or skew correction through `sentAt`), only has to fall before the expiry.
 * So a token is worth at most its lifetime plus this grace, however far back events are dated.
 */
export const CONSENT_EXPIRY_GRACE_MS = 72 * 3600_000;

/**
 * Whether a token was live for an event: it had not expired at the event's time, and Pulse
 * received the event no later than CONSENT_EXPIRY_GRACE_MS after the expiry.
 */
export const liveForEvent = (
  exp: number,
  event: { eventTime: string; receivedAt: string },
): 'live' | 'expired_at_event' | 'expired_at_receipt' => {
  const expMs = exp * 1000;
  if (Date.parse(event.receivedAt) >= expMs + CONSENT_EXPIRY_GRACE_MS) return 'expired_at_receipt';
  if (Date.parse(event.eventTime) >= expMs) return 'expired_at_event';
  return 'live';
};

/**
 * Does this token let Pulse count this event for `purpose`? The subject must be the event's
 * user id or its anonymous id (consent on a cookie banner before login covers the events
 * after it), and the token must be live for the event (liveForEvent: before its expiry at the
 * event's time, received within the grace after it).
 */
export const checkConsent = (
  key: Uint8Array,
  token: string | undefined,
  event: { userId?: string; anonymousId?: string; eventTime: string; receivedAt: string },
  purpose: Purpose = 'analytics',
  /** Tokens already verified in this request: a batch usually repeats a few tokens many times. */
  verified?: Map<string, ConsentClaims | undefined>,
): ConsentVerdict => {
  const fail = (code: 'consent_required' | 'consent_invalid', message: string): ConsentVerdict => ({
    ok: false,
    code,
    errors: [{ path: 'consentToken', message }],
  });
  if (!token)
    return fail(
      'consent_required',
      // Says how to get one: a newcomer's first event meets this before anything else.
      'A consent token granting analytics is required (X-Consent-Token or consentToken); ' +
        'PUT /api/users/{id}/consent records consent and answers with one (consentToken)',
    );
  let claims: ConsentClaims | undefined;
  if (verified?.has(token)) claims = verified.get(token);
  else {
    claims = readConsentToken(key, token);
    verified?.set(token, claims);
  }
  if (!claims) return fail('consent_invalid', 'The consent token is not one Pulse issued');
  if (claims.sub !== event.userId && claims.sub !== event.anonymousId)
    return fail(
      'consent_invalid',
      "The consent token is for another subject than the event's userId or anonymousId",
    );
  if (!claims.pur.includes(purpose))
    return fail('consent_invalid', `The consent token does not grant ${purpose}`);
  const live = liveForEvent(claims.exp, event);
  if (live === 'expired_at_event')
    return fail('consent_invalid', 'The consent token had expired at the time of the event');
  if (live === 'expired_at_receipt')
    return fail('consent_invalid', 'The consent token has expired: ask for consent again for a new one');
  return { ok: true };
};
