import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { logger } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { consentBodySchema, grantedPurposes, issueConsentToken, PURPOSES } from '../core/consent';
import { Problem } from '../core/problem';
import { parseBody } from '../core/query';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { subjectParam } from '../http/params';
import type { HttpRequest, HttpResponse } from '../http/types';
import { sourceWriteKeys } from '../http/write-keys';

const db = documentClient();
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const ttlDays = settings.consentTtlDays;

const putConsent = async (request: HttpRequest): Promise<HttpResponse> => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const subject = subjectParam(request, 'userId');
  const body = parseBody(consentBodySchema, request.body);
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

const getConsent = async (request: HttpRequest): Promise<HttpResponse> => {
  const subject = subjectParam(request, 'userId');
  const state = await consent.state(subject);
  if (!state.current && state.history.length === 0)
    throw new Problem(404, 'not_found', `No consent recorded for ${subject}`);
  return { status: 200, body: { subject, ...state } };
};

export const handler = httpHandler({
  module: 'consent/consent',
  authenticators: {
    writeKey: sourceWriteKeys(),
    jwt: jwtAuthenticator(),
  },
  handle: (request) => (request.route.id === 'putConsent' ? putConsent(request) : getConsent(request)),
});
