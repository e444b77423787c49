/**
 * Campaign alerts (analysts): `PUT /api/alerts/{alertId}` declares a condition on a campaign metric,
 * `GET /api/alerts` lists them with their last evaluation, `DELETE` removes one. The schedule
 * `alerts-evaluate` (functions/alerts/evaluate.ts) evaluates them; destinations asking for `alert`
 * messages receive what fires.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { DestinationsRepository } from '../adapters/destinations-repository';
import { logger } from '../adapters/observability';
import type { Alert } from '../core/alerts';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './alerts.contract';

const repo = new DestinationsRepository(documentClient(), requireEnv(tables.destinations.envVar));

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const putAlert: Handler<'putAlert'> = async (request, { params: { alertId }, body }) => {
  const existing = await repo.getAlert(alertId);
  const at = request.receivedAt.toISOString();
  const alert: Alert = { ...body, alertId, createdAt: existing?.createdAt ?? at, updatedAt: at };
  await repo.putAlert(alert);
  logger.info('alert saved', { alertId, campaignId: alert.campaignId, created: !existing });
  return { status: existing ? 200 : 201, body: alert };
};

const listAlerts: Handler<'listAlerts'> = async () => ({
  status: 200,
  body: { items: await repo.listAlerts() },
});

const deleteAlert: Handler<'deleteAlert'> = async (_r, { params: { alertId } }) => {
  if (!(await repo.deleteAlert(alertId))) throw new Problem(404, 'not_found', `No alert ${alertId}`);
  return { status: 204 };
};

export const handler = httpHandler({
  module: 'alerts/alerts',
  contract,
  handlers: { putAlert, listAlerts, deleteAlert },
  authenticators: { jwt: jwtAuthenticator() },
});
