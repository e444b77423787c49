/**
 * `PUT /api/connectors/{connectorId}` and `GET /api/connectors/{connectorId}/status` (admin): a
 * CRM connector's settings — which HubSpot contact properties become which declared traits, how a
 * contact finds its Pulse person — and what its runs did. The token is not sent here: an operator
 * puts it in the CRM secret (docs/traits.md), which only the sync job reads.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConnectorsRepository } from '../adapters/connectors-repository';
import { logger } from '../adapters/observability';
import { TraitDeclarationsRepository } from '../adapters/trait-declarations-repository';
import type { ConnectorBody } from '../core/crm-sync';
import type { FieldError } from '../core/problem';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './connectors.contract';

const db = documentClient();
const traitsTable = requireEnv(tables.traits.envVar);
const connectors = new ConnectorsRepository(db, traitsTable);
const declarations = new TraitDeclarationsRepository(db, traitsTable);

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

/** Every trait a connector sets must be declared, and a hashed match needs a hashed trait. */
const declarationErrors = async (body: ConnectorBody): Promise<FieldError[]> => {
  const declared = new Map((await declarations.list()).map((d) => [d.name, d]));
  const errors: FieldError[] = Object.entries(body.properties)
    .filter(([, trait]) => !declared.has(trait))
    .map(([property, trait]) => ({
      path: `properties.${property}`,
      message: `Trait ${trait} is not declared (PUT /api/traits/${trait})`,
    }));
  if (body.match.by === 'hashedTrait' && declared.get(body.match.trait)?.pii !== 'hash')
    errors.push({ path: 'match.trait', message: 'Expected a trait declared with pii "hash"' });
  return errors;
};

const putConnector: Handler<'putConnector'> = async (request, { params: { connectorId }, body }) => {
  const errors = await declarationErrors(body);
  if (errors.length > 0) throw new Problem(400, 'validation_failed', 'Invalid connector', errors);
  const { connector, created } = await connectors.put(connectorId, body, request.receivedAt);
  logger.info('connector saved', {
    connectorId,
    kind: body.kind,
    created,
    properties: Object.keys(body.properties).length,
  });
  return { status: created ? 201 : 200, body: connector };
};

const connectorStatus: Handler<'connectorStatus'> = async (_request, { params: { connectorId } }) => {
  const connector = await connectors.get(connectorId);
  if (!connector) throw new Problem(404, 'not_found', `No connector ${connectorId}`);
  const state = await connectors.state(connectorId);
  return {
    status: 200,
    body: {
      connector,
      cursor: state.cursor
        ? {
            modifiedSince: new Date(state.cursor.since).toISOString(),
            paging: state.cursor.after !== undefined,
          }
        : null,
      running: state.leaseUntil !== undefined && state.leaseUntil > Date.now(),
      lastRun: state.lastRun ?? null,
    },
  };
};

export const handler = httpHandler({
  module: 'traits/connectors',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { putConnector, connectorStatus },
});
