import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { accepted } from '../core/ingest';
import {
  clickConsent,
  clickEvent,
  type LinkClaims,
  readLink,
  redirectLocation,
  signLink,
} from '../core/links';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { publishToStream } from '../http/stream-publish';
import type { HttpRequest } from '../http/types';
import { contract } from './links.contract';

const db = documentClient();
const identity = new IdentityReader(db, requireEnv(tables.users.envVar));
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const { consentRequired } = settings;

/** Where this API is reached: API Gateway's domain name (the Host locally), and the scheme. */
const apiBase = (request: HttpRequest): string => {
  const headers = request.event.headers ?? {};
  const host = request.event.requestContext?.domainName || headers.host;
  if (!host) throw new Problem(500, 'internal_error', 'The request names no host');
  const proto = headers['x-forwarded-proto']?.split(',')[0]?.trim() === 'http' ? 'http' : 'https';
  return `${proto}://${host}`;
};

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const createLink: Handler<'createLink'> = async (request, { body }) => {
  const { token, expiresAt } = signLink(await signingKey(), body, request.receivedAt);
  return { status: 201, body: { token, href: `${apiBase(request)}/r/${token}`, expiresAt } };
};

/** The click, if stored consent allows it: the user's own, and that of every id linked to them. */
const recordClick = async (claims: LinkClaims, token: string, receivedAt: Date): Promise<boolean> => {
  const userId = await identity.resolvePerson(claims.sub);
  let person: { userId: string; anonymousId?: string } = { userId };
  if (consentRequired) {
    const linked = await identity.linkedIds(userId);
    const ids = [...new Set([userId, claims.sub, ...linked.map((l) => l.anonymousId)])];
    const verdict = clickConsent(userId, ids, await consent.currentFor(ids));
    if (!verdict.record) return false;
    person = { userId, ...(verdict.anonymousId !== undefined && { anonymousId: verdict.anonymousId }) };
  }
  const event = clickEvent(claims, token, person, receivedAt);
  await publishToStream([accepted(event)]);
  return true;
};

const followLink: Handler<'followLink'> = async (request, { params: { token } }) => {
  const claims = readLink(await signingKey(), token, request.receivedAt);
  // readLink answers only for a URL that makes a valid `location` (redirectLocation): a link
  // made before URLs were normalised, to an IDN host say, redirects too, or is no link — never a 500.
  const location = claims && redirectLocation(claims.url);
  if (!claims || !location) {
    metrics.addMetric('LinkTokensRefused', MetricUnit.Count, 1);
    throw new Problem(404, 'not_found', 'Unknown or expired link');
  }
  try {
    const recorded = await recordClick(claims, token, request.receivedAt);
    metrics.addMetric(recorded ? 'LinkClicksRecorded' : 'LinkClicksWithoutConsent', MetricUnit.Count, 1);
  } catch (error) {
    // The reader still gets where the e-mail promised; only the count of this click is lost.
    metrics.addMetric('LinkClicksLost', MetricUnit.Count, 1);
    logger.warn('link click not recorded', { error: (error as Error).message });
  }
  return {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  };
};

export const handler = httpHandler({
  module: 'links/links',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { createLink, followLink },
});
