/**
 * `PUT /api/traits/{name}` and `GET /api/traits` (admin): declared traits — what identify calls,
 * Segment's identify, imports and CRM connectors may set on a profile (functions/core/traits.ts).
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger } from '../adapters/observability';
import {
  TooManyDeclarationsError,
  TraitDeclarationsRepository,
} from '../adapters/trait-declarations-repository';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './traits.contract';

const declarations = new TraitDeclarationsRepository(documentClient(), requireEnv(tables.traits.envVar));

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const putTrait: Handler<'putTrait'> = async (request, { params: { name }, body }) => {
  try {
    const { declaration, created } = await declarations.put(name, body, request.receivedAt);
    logger.info('trait declared', { trait: name, type: body.type, pii: body.pii, created });
    return { status: created ? 201 : 200, body: declaration };
  } catch (error) {
    if (error instanceof TooManyDeclarationsError)
      throw new Problem(409, 'conflict', error.message, [{ path: 'name', message: error.message }]);
    throw error;
  }
};

const listTraits: Handler<'listTraits'> = async () => ({
  status: 200,
  body: { items: (await declarations.list()).sort((a, b) => a.name.localeCompare(b.name)) },
});

export const handler = httpHandler({
  module: 'traits/traits',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { putTrait, listTraits },
});
