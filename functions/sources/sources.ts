/** Sources (admin): create one with its write key (shown once), list them, revoke one. */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger } from '../adapters/observability';
import { signingKey } from '../adapters/signing-key';
import { SourcesRepository } from '../adapters/sources-repository';
import { identitySecret } from '../core/identity-verification';
import { Problem } from '../core/problem';
import { pageQuerySchema, parseBody, parseQuery } from '../core/query';
import { newSourceSchema } from '../core/sources';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { HttpRequest, HttpResponse } from '../http/types';

const repository = new SourcesRepository(
  documentClient(),
  requireEnv(tables.sources.envVar),
  async (sourceId) => identitySecret(await signingKey(), sourceId),
);

const routes: Record<string, (request: HttpRequest) => Promise<HttpResponse>> = {
  createSource: async ({ body }) => {
    const { source, ...shownOnce } = await repository.create(parseBody(newSourceSchema, body));
    logger.info('source created', { sourceId: source.sourceId, kind: source.kind });
    return {
      status: 201,
      body: { ...source, ...shownOnce },
      headers: { location: `/api/sources/${source.sourceId}` },
    };
  },
  listSources: async ({ event }) => {
    const { limit, cursor } = parseQuery(pageQuerySchema, event.queryStringParameters);
    const page = await repository.list(limit, cursor);
    return { status: 200, body: page };
  },
  deleteSource: async ({ event }) => {
    const sourceId = event.pathParameters?.sourceId ?? '';
    const source = await repository.revoke(sourceId);
    if (!source) throw new Problem(404, 'not_found', `No source ${sourceId}`);
    logger.info('source revoked', { sourceId });
    return { status: 200, body: source };
  },
};

export const handler = httpHandler({
  module: 'sources/sources',
  authenticators: { jwt: jwtAuthenticator() },
  handle: (request) => (routes[request.route.id] as (r: HttpRequest) => Promise<HttpResponse>)(request),
});
