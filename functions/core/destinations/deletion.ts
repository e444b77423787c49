/**
 * Erasure forwarded to vendors: the deletion request each destination type's vendor documents, and
 * how its answer reads. A vendor offers deletion by giving its codec a `deletion` member
 * (functions/core/destinations/vendors.ts); a type without one gets nothing. Pure: the forwarder
 * (functions/destinations/forward-erasure.ts) sends what this plans and settles what it reads.
 *
 * Like Segment's deletion requests, every request is idempotent at the vendor (deleting what is
 * already gone succeeds), so a retry sends the whole plan again.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { httpOutcome, type ItemOutcome, type VendorAnswer } from './delivery';
import { accessToken, parseServiceAccount, tokenRequest } from './google-oauth';
import type { HttpRequest, VendorRequest } from './vendors';
import { signedWebhookRequest } from './webhook-request';

/**
 * The person a deletion is about: the least a vendor needs. `userIds` and `anonymousIds` as Pulse
 * sent them (`userId`, or `anonymousId` when there was no user); an id Pulse cannot tell apart (a
 * person key never linked to anything) is in both, so each vendor deletes it under either name.
 */
export interface ErasedPerson {
  erasureId: string;
  /** When the erasure was requested (ISO). */
  at: string;
  personKey: string;
  userIds: string[];
  anonymousIds: string[];
}

/** What to send, or why nothing is sent (the status says so). */
export type DeletionPlan = { requests: VendorRequest[] } | { skipped: string };

export interface Deletion {
  /**
   * Where the API takes an OAuth access token rather than a stored credential: the token request,
   * sent first, and the token read from its answer (then passed to `plan`).
   */
  readonly auth?: {
    request(
      settings: Record<string, unknown>,
      credentials: Record<string, string>,
      now: Date,
    ): HttpRequest | { skipped: string };
    token(answer: VendorAnswer, now: number): { token: string } | ItemOutcome;
  };
  plan(
    settings: Record<string, unknown>,
    credentials: Record<string, string>,
    person: ErasedPerson,
    now: Date,
    accessToken?: string,
  ): DeletionPlan;
  /** One request's answer. */
  interpret(answer: VendorAnswer, now: number): ItemOutcome;
}

/**
 * The erased person from erasure's view of them: the subject named in the request, the person key it
 * resolves to and the anonymous ids linked to that person.
 */
export const erasedPerson = (
  erasureId: string,
  at: Date,
  subject: string,
  personKey: string,
  linkedAnonymousIds: readonly string[],
): ErasedPerson => {
  const anonymous = new Set(linkedAnonymousIds);
  if (subject !== personKey) anonymous.add(subject);
  // A person key with no link either way may be a user or an anonymous id.
  if (anonymous.size === 0) anonymous.add(personKey);
  return { erasureId, at: at.toISOString(), personKey, userIds: [personKey], anonymousIds: [...anonymous] };
};

/** Every id of the person, once. */
export const allIds = (p: ErasedPerson): string[] => [...new Set([...p.userIds, ...p.anonymousIds])];

/**
 * The vendor's answer with every id of the person blanked: what status and logs may keep. Each id
 * in any letter case, trimmed, and URL-encoded too (vendors echo what they normalised).
 */
export const redactIds = (text: string, ids: readonly string[]): string => {
  const forms = new Set(
    ids.flatMap((id) => [id.trim(), encodeURIComponent(id.trim())]).filter((f) => f.length > 0),
  );
  if (forms.size === 0) return text;
  const escaped = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return text.replace(new RegExp(escaped.join('|'), 'gi'), '<id>');
};

/** One outcome for a plan of several requests: any refusal is final; else any retry; else delivered. */
export const combineOutcomes = (outcomes: readonly ItemOutcome[]): ItemOutcome => {
  const rejected = outcomes.find((o) => o.kind === 'rejected');
  if (rejected) return rejected;
  const retries = outcomes.filter((o) => o.kind === 'retry');
  if (retries.length === 0) return { kind: 'delivered' };
  const after = Math.max(...retries.map((o) => o.retryAfterMs ?? 0));
  return { kind: 'retry', reason: retries[0]?.reason ?? 'retry', ...(after > 0 && { retryAfterMs: after }) };
};

const json = (url: string, auth: string | undefined, body: unknown): HttpRequest => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(auth !== undefined && { authorization: auth }) },
  body: JSON.stringify(body),
});

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Webhook: a Standard Webhooks message of its own type, signed like every batch:
 * `{type: 'person.erased', timestamp, data: {erasureId, erasedAt, personKey, ids}}`, `webhook-id`
 * stable per erasure (a retry repeats it; receivers deduplicate on it). The receiver deletes what it
 * holds under any of `ids`. 2xx done; 408/409/425/429/5xx retried; other 4xx refused.
 */
export const webhookDeletion: Deletion = {
  plan(settings, credentials, person, now) {
    const body = JSON.stringify({
      type: 'person.erased',
      timestamp: now.toISOString(),
      data: {
        erasureId: person.erasureId,
        erasedAt: person.at,
        personKey: person.personKey,
        ids: allIds(person),
      },
    });
    const msgId = `msg_erase_${createHash('sha256').update(person.erasureId).digest('hex').slice(0, 26)}`;
    const signer = new Webhook(credentials.signingSecret as string);
    return { requests: [signedWebhookRequest(settings.url as string, signer, msgId, now, body)] };
  },
  interpret: (answer, now) => httpOutcome(answer, now),
};

export const BRAZE_DELETE_LIMIT = 50;

/**
 * Braze `POST /users/delete` (Bearer REST key with the `users.delete` permission): up to 50
 * identifiers per request, of one kind only — `external_ids` (user ids), `user_aliases` (anonymous
 * people, by the alias `pulse_anonymous_id` the track codec gives them). 201 `{deleted}`.
 */
export const brazeDeletion: Deletion = {
  plan(settings, credentials, person) {
    const url = `${settings.baseUrl as string}/users/delete`;
    const auth = `Bearer ${credentials.apiKey}`;
    return {
      requests: [
        ...chunks(person.userIds, BRAZE_DELETE_LIMIT).map((ids) => json(url, auth, { external_ids: ids })),
        ...chunks(person.anonymousIds, BRAZE_DELETE_LIMIT).map((ids) =>
          json(url, auth, {
            user_aliases: ids.map((alias_name) => ({ alias_name, alias_label: 'pulse_anonymous_id' })),
          }),
        ),
      ],
    };
  },
  interpret: (answer, now) => httpOutcome(answer, now),
};

/**
 * HubSpot `POST /crm/v3/objects/contacts/gdpr-delete` (private-app token with
 * `crm.objects.contacts.write`): one contact per request, by e-mail as the hubspot codec matches them
 * (`idProperty: email`; the user id or person key, never an anonymous id). HubSpot blocklists an e-mail it has no contact for; 404 is read as nothing to
 * delete. A person with no e-mail id was never sent to HubSpot: skipped.
 */
export const hubspotDeletion: Deletion = {
  plan(settings, credentials, person) {
    const emails = [
      ...new Set(
        [person.personKey, ...person.userIds]
          .filter((id) => id.includes('@'))
          .map((id) => id.trim().toLowerCase()),
      ),
    ];
    if (emails.length === 0)
      return { skipped: 'HubSpot matches contacts by e-mail: the person has no e-mail id' };
    const base = (settings.baseUrl as string | undefined) ?? 'https://api.hubapi.com';
    return {
      requests: emails.map((email) =>
        json(`${base}/crm/v3/objects/contacts/gdpr-delete`, `Bearer ${credentials.accessToken}`, {
          objectId: email,
          idProperty: 'email',
        }),
      ),
    };
  },
  interpret(answer, now) {
    if ('status' in answer && answer.status === 404) return { kind: 'delivered' };
    return httpOutcome(answer, now);
  },
};

export const MIXPANEL_DELETE_LIMIT = 2000;

/** The GDPR API's host for an ingestion host: api-eu → eu.mixpanel.com, api-in → in, else mixpanel.com. */
export const mixpanelGdprBase = (settings: Record<string, unknown>): string => {
  if (typeof settings.gdprBaseUrl === 'string') return settings.gdprBaseUrl;
  const base = settings.baseUrl as string | undefined;
  if (base === undefined) return 'https://mixpanel.com';
  const host = new URL(base).host;
  if (host === 'api-eu.mixpanel.com') return 'https://eu.mixpanel.com';
  if (host === 'api-in.mixpanel.com') return 'https://in.mixpanel.com';
  // A test server (or a proxy) answers both APIs.
  return host.endsWith('mixpanel.com') ? 'https://mixpanel.com' : base;
};

/**
 * Mixpanel's GDPR API v3, `POST /api/app/data-deletions/v3.0/?token=<project token>` with the
 * GDPR OAuth token (Bearer; an owner or admin generates it, valid a year): up to 2,000 distinct ids
 * per request, `compliance_type: GDPR`. Mixpanel answers with a task id and deletes within weeks.
 * Import's service account cannot call it: without `credentials.gdprToken` and
 * `settings.projectToken` the request is skipped, and the status says which is missing.
 */
export const mixpanelDeletion: Deletion = {
  plan(settings, credentials, person) {
    const missing = [
      ...(credentials.gdprToken ? [] : ['credentials.gdprToken']),
      ...(settings.projectToken ? [] : ['settings.projectToken']),
    ];
    if (missing.length > 0) return { skipped: `Mixpanel's GDPR API needs ${missing.join(' and ')}` };
    const url = `${mixpanelGdprBase(settings)}/api/app/data-deletions/v3.0/?token=${encodeURIComponent(String(settings.projectToken))}`;
    return {
      requests: chunks(allIds(person), MIXPANEL_DELETE_LIMIT).map((ids) =>
        json(url, `Bearer ${credentials.gdprToken}`, { distinct_ids: ids, compliance_type: 'GDPR' }),
      ),
    };
  },
  interpret: (answer, now) => httpOutcome(answer, now),
};

export const GA4_DELETION_SCOPE = 'https://www.googleapis.com/auth/analytics.user.deletion';

/** The User Deletion API's host: www.googleapis.com, or the test server `baseUrl` names. */
const ga4DeletionBase = (settings: Record<string, unknown>): string => {
  const base = settings.baseUrl as string | undefined;
  return base === undefined || new URL(base).host.endsWith('google-analytics.com')
    ? 'https://www.googleapis.com'
    : base;
};

/**
 * GA4 through Google Analytics' User Deletion API (`POST /analytics/v3/userDeletion/userDeletionRequests:upsert`,
 * `{kind, id: {type, userId}, propertyId}`), one request per id: anonymous ids as `CLIENT_ID` (the
 * ga4 codec sends them as `client_id`), user ids as `USER_ID`. It needs an OAuth token with the
 * `analytics.user.deletion` scope, which a Measurement Protocol secret cannot give: the destination
 * holds a service account's key (`credentials.serviceAccountKey`, the account added to the property)
 * and the numeric property id (`settings.propertyId`); without them the request is skipped. Each
 * attempt exchanges a fresh JWT for a token (google-oauth.ts). Google's quota: 500 requests a day
 * per cloud project.
 */
export const ga4Deletion: Deletion = {
  auth: {
    request(settings, credentials, now) {
      const missing = [
        ...(credentials.serviceAccountKey ? [] : ['credentials.serviceAccountKey']),
        ...(settings.propertyId ? [] : ['settings.propertyId']),
      ];
      if (missing.length > 0) return { skipped: `GA4's User Deletion API needs ${missing.join(' and ')}` };
      const account = parseServiceAccount(credentials.serviceAccountKey as string);
      if ('invalid' in account) return { skipped: `credentials.serviceAccountKey: ${account.invalid}` };
      return tokenRequest(account, GA4_DELETION_SCOPE, now);
    },
    token: accessToken,
  },
  plan(settings, _credentials, person, _now, token) {
    const url = `${ga4DeletionBase(settings)}/analytics/v3/userDeletion/userDeletionRequests:upsert`;
    const one = (type: 'CLIENT_ID' | 'USER_ID', userId: string) =>
      json(url, `Bearer ${token}`, {
        kind: 'analytics#userDeletionRequest',
        id: { type, userId },
        propertyId: String(settings.propertyId),
      });
    return {
      requests: [
        ...person.userIds.map((id) => one('USER_ID', id)),
        ...person.anonymousIds.map((id) => one('CLIENT_ID', id)),
      ],
    };
  },
  interpret: (answer, now) => httpOutcome(answer, now),
};
