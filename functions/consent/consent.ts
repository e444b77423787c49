import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { logger } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { grantedPurposes, issueConsentToken, PURPOSES } from '../core/consent';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { sourceWriteKeys } from '../http/write-keys';
import { contract } from './consent.contract';

const db = documentClient();
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const ttlDays = settings.consentTtlDays;

const putConsent: Handlers<typeof contract>['putConsent'] = async (request, { params, body }) => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const subject = params.userId;
  const record = await consent.record(subject, body, request.principal.source.sourceId, request.receivedAt);
  const granted = grantedPurposes(body.purposes);
  const { token, expiresAt } = issueConsentToken(
    await signingKey(),
    subject,
    granted,
    request.receivedAt,
    ttlDays,
  );
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
