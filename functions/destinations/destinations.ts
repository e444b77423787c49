/**
 * Destinations (admin): create or replace, list, read, delete; status; resume after the circuit
 * breaker paused one; replay a window from the archive. Credentials go to the credential store
 * (Secrets Manager; locally a folder) and never into the table, an answer or a log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ENV } from '../../lib/config';
import { tables } from '../../lib/tables';
import { archivedEvents } from '../adapters/archive-reader';
import { documentClient, requireEnv } from '../adapters/aws';
import { destinationSecrets } from '../adapters/destination-secrets';
import { DestinationsRepository } from '../adapters/destinations-repository';
import { ensureHubspotProperties } from '../adapters/hubspot-properties';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { OutboxRepository } from '../adapters/outbox-repository';
import { checkTypeFields, type Destination } from '../core/destinations/definition';
import { busGranted } from '../core/destinations/eventbridge';
import { Problem, validationProblem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './destinations.contract';

const db = documentClient();
const destinations = new DestinationsRepository(db, requireEnv(tables.destinations.envVar));
const outbox = new OutboxRepository(db, requireEnv(tables.outbox.envVar));
const secrets = destinationSecrets();
// eventbridge destinations: the buses the delivering functions may put events on (lib/event-buses.ts).
const grantedBuses = (process.env[ENV.eventBusArns] ?? '').split(',').filter(Boolean);

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const found = async (destinationId: string): Promise<Destination> => {
  const d = await destinations.get(destinationId);
  if (!d) throw new Problem(404, 'not_found', `No destination ${destinationId}`);
  return d;
};

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

type Body = Parameters<Handler<'putDestination'>>[1]['body'];

/**
 * A `properties`-mode hubspot destination, on every save (idempotent: two requests when all exist,
 * so saving again always repairs a portal): create the contact properties it writes
 * (adapters/hubspot-properties.ts). A token HubSpot refuses (401)
 * or one without the schema scope (403) fails the PUT, nothing saved: every upsert would fail too.
 * Anything else (an outage) saves it with a warning: saving again retries, and meanwhile a failed
 * upsert names the missing property in the status's `lastErrors`.
 */
const hubspotSetup = async (destinationId: string, body: Body): Promise<string[]> => {
  if (body.type !== 'hubspot' || body.settings.mode !== 'properties') return [];
  const audiences = body.audiences ?? [];
  const token = String(
    (body.credentials as Record<string, unknown> | undefined)?.accessToken ??
      (await secrets.read(destinationId)).accessToken ??
      '',
  );
  const step = await ensureHubspotProperties(body.settings, token, audiences);
  if (step.kind === 'done') {
    logger.info('hubspot properties ensured', { destinationId, audiences: audiences.length });
    return [];
  }
  metrics.addMetric('HubspotPropertiesFailed', MetricUnit.Count, 1);
  logger.warn('hubspot properties not created', { destinationId, kind: step.kind, cause: step.message });
  if (step.kind === 'credentials')
    throw validationProblem([{ path: 'credentials.accessToken', message: step.message }]);
  return [`HubSpot contact properties not created (${step.message}); save the destination again to retry`];
};

const putDestination: Handler<'putDestination'> = async (request, { params: { destinationId }, body }) => {
  const existing = await destinations.get(destinationId);
  const creating = existing === undefined || existing.type !== body.type;
  const errors = checkTypeFields(body, creating && body.type !== 'webhook');
  const bus = body.settings.eventBusName;
  if (
    errors.length === 0 &&
    body.type === 'eventbridge' &&
    grantedBuses.length > 0 &&
    !busGranted(String(bus), grantedBuses, process.env.AWS_REGION ?? '')
  )
    errors.push({
      path: 'settings.eventBusName',
      message: `Not a bus this stack may put events on (${grantedBuses.map((a) => a.split(':event-bus/')[1]).join(', ')}); pulse:eventBuses adds others`,
    });
  if (errors.length > 0) throw validationProblem(errors);
  const warnings = await hubspotSetup(destinationId, body);
  const at = request.receivedAt.toISOString();
  let credentials = body.credentials as Record<string, string> | undefined;
  let generated: string | undefined;
  if (body.type === 'webhook' && credentials?.signingSecret === undefined && creating) {
    generated = newSigningSecret();
    credentials = { ...(credentials ?? {}), signingSecret: generated };
  }
  if (credentials !== undefined) await secrets.write(destinationId, credentials);
  const d: Destination = {
    destinationId,
    type: body.type,
    enabled: body.enabled,
    filter: body.filter,
    settings: body.settings,
    consentPurpose: body.consentPurpose,
    audiences: body.audiences ?? [],
    credentialFields: Object.keys(credentials ?? {}).length
      ? Object.keys(credentials ?? {}).sort()
      : (existing?.credentialFields ?? []),
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  await destinations.put(d);
  logger.info('destination saved', { destinationId, type: d.type, enabled: d.enabled, created: !existing });
  const warned = warnings.length > 0 ? { warnings } : {};
  return existing
    ? { status: 200, body: { ...d, ...warned } }
    : {
        status: 201,
        body: { ...d, ...warned, ...(generated !== undefined && { signingSecret: generated }) },
      };
};

const listDestinations: Handler<'listDestinations'> = async () => ({
  status: 200,
  body: { items: await destinations.list() },
});

const getDestination: Handler<'getDestination'> = async (_r, { params: { destinationId } }) => ({
  status: 200,
  body: await found(destinationId),
});

const deleteDestination: Handler<'deleteDestination'> = async (_r, { params: { destinationId } }) => {
  if (!(await destinations.delete(destinationId)))
    throw new Problem(404, 'not_found', `No destination ${destinationId}`);
  await secrets.remove(destinationId);
  logger.info('destination deleted', { destinationId });
  return { status: 204 };
};

const destinationStatus: Handler<'destinationStatus'> = async (request, { params: { destinationId } }) => {
  const d = await found(destinationId);
  const [status, waiting, replays] = await Promise.all([
    destinations.status(destinationId),
    outbox.waiting(destinationId),
    destinations.replays(destinationId),
  ]);
  const overdue = waiting.oldestDueAt ? request.receivedAt.getTime() - Date.parse(waiting.oldestDueAt) : 0;
  return {
    status: 200,
    body: {
      destinationId,
      enabled: d.enabled,
      delivered: status.delivered,
      retrying: waiting.count,
      dead: status.dead,
      consentDropped: status.consentDropped,
      superseded: status.superseded,
      lagSeconds: Math.max(0, Math.round(overdue / 1000)),
      ...(status.lastDeliveredAt !== undefined && { lastDeliveredAt: status.lastDeliveredAt }),
      ...(status.paused && { paused: status.paused }),
      consecutiveFailures: status.consecutiveFailures,
      lastErrors: status.lastErrors,
      replays: replays.map(({ destinationId: _d, ...job }) => job),
    },
  };
};

const resumeDestination: Handler<'resumeDestination'> = async (_r, { params: { destinationId } }) => {
  await found(destinationId);
  await destinations.resume(destinationId);
  logger.info('destination resumed', { destinationId });
  return { status: 200, body: { destinationId, resumed: true } };
};

const replayDestination: Handler<'replayDestination'> = async (
  request,
  { params: { destinationId }, body },
) => {
  // The redrive schedule reads the archive (every stack has one) and enqueues the range.
  await found(destinationId);
  const job = {
    destinationId,
    replayId: randomUUID(),
    from: new Date(body.from).toISOString(),
    to: new Date(body.to).toISOString(),
    cursor: new Date(body.from).toISOString(),
    enqueued: 0,
    status: 'running' as const,
    createdAt: request.receivedAt.toISOString(),
  };
  await destinations.createReplay(job);
  logger.info('replay started', { destinationId, replayId: job.replayId, from: job.from, to: job.to });
  const { destinationId: _d, ...view } = job;
  return { status: 202, body: view };
};

export const handler = httpHandler({
  module: 'destinations/destinations',
  contract,
  handlers: {
    putDestination,
    listDestinations,
    getDestination,
    deleteDestination,
    destinationStatus,
    resumeDestination,
    replayDestination,
  },
  authenticators: { jwt: jwtAuthenticator() },
});
