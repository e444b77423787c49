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
 * Does this token let Pulse count this event for `purpose`? The subject must be the event's
 * user id or its anonymous id (consent on a cookie banner before login covers the events
 * after it), and the token must not have expired at the event's skew-corrected time.
 */
export const checkConsent = (
  key: Uint8Array,
  token: string | undefined,
  event: { userId?: string; anonymousId?: string; eventTime: string },
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
  if (claims.exp * 1000 <= Date.parse(event.eventTime))
    return fail('consent_invalid', 'The consent token had expired at the time of the event');
  return { ok: true };
};
