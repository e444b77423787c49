/** Sources (admin): create one with its write key (shown once), list them, revoke one. */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger } from '../adapters/observability';
import { signingKey } from '../adapters/signing-key';
import { SourcesRepository } from '../adapters/sources-repository';
import { identitySecret } from '../core/identity-verification';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { contract } from './sources.contract';

const repository = new SourcesRepository(
  documentClient(),
  requireEnv(tables.sources.envVar),
  async (sourceId) => identitySecret(await signingKey(), sourceId),
);

export const handler = httpHandler({
  module: 'sources/sources',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    createSource: async (_request, { body }) => {
      const { source, ...shownOnce } = await repository.create(body);
      logger.info('source created', { sourceId: source.sourceId, kind: source.kind });
      return {
        status: 201,
        body: { ...source, ...shownOnce },
        headers: { location: `/api/sources/${source.sourceId}` },
      };
    },
    listSources: async (_request, { query }) => ({
      status: 200,
      body: await repository.list(query.limit, query.cursor),
    }),
    deleteSource: async (_request, { params: { sourceId } }) => {
      const source = await repository.revoke(sourceId);
      if (!source) throw new Problem(404, 'not_found', `No source ${sourceId}`);
      logger.info('source revoked', { sourceId });
      return { status: 200, body: source };
    },
  },
});
