import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { ModelTags } from '../adapters/model-tags';
import { logger } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { grantedPurposes, issueConsentToken, PURPOSES, readConsentToken } from '../core/consent';
import { Problem } from '../core/problem';
import { keyedIdHash } from '../core/signing';
import { httpHandler } from '../http/handler';
import { requireIdentity } from '../http/identity-proof';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { sourceWriteKeys } from '../http/write-keys';
import { contract } from './consent.contract';

const db = documentClient();
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const identity = new IdentityReader(db, requireEnv(tables.users.envVar));
const ttlDays = settings.consentTtlDays;
// Predictions (docs/models.md): scores and model tags go with a withdrawal of personalisation.
const people = new PeopleRepository(db, requireEnv(tables.users.envVar));
const tagsTable = requireEnv(tables.tags.envVar);
const modelTags = new ModelTags(new TagsRepository(db, tagsTable, membershipTriggersFromEnv(db)));
const forgetScores = async (subject: string): Promise<void> => {
  const personKey = await identity.resolvePerson(subject);
  const [scores, tags] = await Promise.all([people.clearScores(personKey), modelTags.clearPerson(personKey)]);
  if (scores || tags > 0) logger.info('scores removed: personalisation withdrawn', { modelTags: tags });
};

/**
 * Whether this request may record consent for `subject`: a server key may; a client key needs the
 * user hash of a user id (identity verification), or says the subject is an anonymous id — which
 * may not be an id Pulse knows as a user (one with linked devices, or consent recorded with proof),
 * so nobody overwrites a person's consent by calling their user id anonymous. An anonymous id is
 * trusted on first use: once it has consent on record, changing it needs a consent token Pulse
 * issued to that id (the device's own, expired or not), so whoever merely knows a device's id
 * cannot take over its consent — nor, through it, link its history to themselves.
 */
const mayRecord = async (
  request: Parameters<Handlers<typeof contract>['putConsent']>[0],
  subject: string,
  anonymous: boolean,
  key: Uint8Array,
): Promise<void> => {
  const standing = requireIdentity(request, {
    signingKey: key,
    mode: settings.identityVerification,
    userId: anonymous ? undefined : subject,
    action: 'consent',
  });
  if (standing !== 'anonymous') return;
  const [links, current] = await Promise.all([identity.linkedIds(subject), consent.currentFor([subject])]);
  const stored = current.get(subject);
  if (links.length > 0 || (stored !== undefined && stored.anonymous !== true))
    throw new Problem(
      403,
      'forbidden',
      `${subject} is a user id: recording its consent needs its user hash`,
      [{ path: 'anonymous', message: 'Not an anonymous id' }],
    );
  if (stored === undefined) return;
  const token = request.event.headers?.['x-consent-token'];
  if (token === undefined || readConsentToken(key, token)?.sub !== subject)
    throw new Problem(
      403,
      'forbidden',
      `${subject} has consent on record: changing it needs a consent token issued to it (x-consent-token)`,
      [{ path: 'consentToken', message: 'A consent token for this anonymous id is required' }],
    );
};

const putConsent: Handlers<typeof contract>['putConsent'] = async (request, { params, body }) => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const subject = params.userId;
  const key = await signingKey();
  await mayRecord(request, subject, body.anonymous === true, key);
  // A person erased before who consents again: what they send from now on counts.
  if (grantedPurposes(body.purposes).includes('analytics'))
    await consent.resumeAfterErasure(keyedIdHash(key, subject), request.receivedAt);
  const record = await consent.record(subject, body, request.principal.source.sourceId, request.receivedAt);
  const granted = grantedPurposes(body.purposes);
  // Predictions (docs/models.md): scoring is personalisation; without it the person keeps no score.
  if (!granted.includes('personalization')) await forgetScores(subject);
  const { token, expiresAt } = issueConsentToken(key, subject, granted, request.receivedAt, ttlDays);
  logger.info('consent recorded', { granted, policyVersion: body.policyVersion });
  return {
    status: 200,
    body: {
      subject,
      consentToken: token,
      expiresAt,
      purposes: Object.fromEntries(PURPOSES.map((p) => [p, body.purposes[p] === true])),
      policyVersion: record.policyVersion,
      recordedAt: record.recordedAt,
    },
  };
};

const getConsent: Handlers<typeof contract>['getConsent'] = async (_request, { params }) => {
  const subject = params.userId;
  const state = await consent.state(subject);
  if (!state.current && state.history.length === 0)
    throw new Problem(404, 'not_found', `No consent recorded for ${subject}`);
  return { status: 200, body: { subject, ...state } };
};

export const handler = httpHandler({
  module: 'consent/consent',
  contract,
  authenticators: {
    writeKey: sourceWriteKeys(),
    jwt: jwtAuthenticator(),
  },
  handlers: { putConsent, getConsent },
});
