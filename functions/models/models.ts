/**
 * Predictions over HTTP. `PUT /api/models/{name}` (admin) declares a model; `GET /api/models` and
 * `GET /api/models/{name}` (analyst) explain them — version, training size, metrics beside their
 * baselines, coefficients with standard errors, importance; `POST /api/models/{name}/train`
 * (admin) runs one now: in AWS it asks the workflow (which looks every 15 minutes), on the local
 * stack it runs the same steps in process, in the background; either way the run's summary
 * appears as `lastRun` on `GET /api/models/{name}`. `GET /api/users/{userId}/scores`
 * (analyst): each score with its percentile and the contributions behind it.
 */
import { ENV } from '../../lib/config';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { IdentityReader } from '../adapters/identity-reader';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { parseModelBody } from '../core/models/definition';
import { dayNumber } from '../core/models/features';
import { explainPerson } from '../core/models/scoring';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { pipelineDeps } from './deps';
import { modelView, scoreView } from './explain';
import { contract } from './models.contract';
import { runInProcess } from './pipeline';

const deps = pipelineDeps();
const identity = new IdentityReader(documentClient(), requireEnv(tables.users.envVar));
/** How often the workflow looks for requested and scheduled runs (lib/constructs/models.ts). */
export const WORKFLOW_EVERY_MINUTES = 15;

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const modelOr404 = async (name: string) => {
  const state = await deps.models.get(name);
  if (!state) throw new Problem(404, 'not_found', `No model ${name}`);
  return state;
};

const putModel: Handler<'putModel'> = async (request, { params: { name } }) => {
  const previous = await deps.models.get(name);
  const definition = parseModelBody(name, request.body, request.receivedAt, previous?.definition);
  const { created } = await deps.models.put(definition);
  return { status: created ? 201 : 200, body: definition };
};

const listModels: Handler<'listModels'> = async () => {
  const states = await deps.models.list();
  return { status: 200, body: { items: states.map((s) => modelView(s, undefined, [])) } };
};

const getModel: Handler<'getModel'> = async (_request, { params: { name } }) => {
  const state = await modelOr404(name);
  const [published, recent] = await Promise.all([
    state.publishedVersion === undefined ? undefined : deps.models.version(name, state.publishedVersion),
    deps.models.versions(name),
  ]);
  return { status: 200, body: modelView(state, published, recent) };
};

/** Runs in this process (local stack), by model: a second request while one runs joins it. */
const running = new Map<string, Promise<unknown>>();

const trainModel: Handler<'trainModel'> = async (request, { params: { name } }) => {
  await modelOr404(name);
  const at = request.receivedAt.toISOString();
  if (process.env[ENV.modelsInProcess] === 'true') {
    // The same steps as the workflow's, in the background: a run outlasts an HTTP request.
    if (!running.has(name))
      running.set(
        name,
        runInProcess(deps, name)
          .then(({ summary }) => logger.info('model run done', { model: name, ...summary }))
          .catch((error) => {
            logger.error('model run failed', { model: name, error });
            metrics.addMetric('ModelRunFailures', MetricUnit.Count, 1);
          })
          .finally(() => running.delete(name)),
      );
    return { status: 202, body: { requestedAt: at, inProcess: true } };
  }
  await deps.models.request(name, at);
  return {
    status: 202,
    body: {
      requestedAt: at,
      startsBy: new Date(request.receivedAt.getTime() + WORKFLOW_EVERY_MINUTES * 60_000).toISOString(),
    },
  };
};

const userScores: Handler<'userScores'> = async (_request, { params: { userId } }) => {
  let personKey = await identity.resolvePerson(userId);
  let stored = (await deps.people.load([personKey])).people.get(personKey);
  if (stored?.stats.mergedInto) {
    personKey = stored.stats.mergedInto;
    stored = (await deps.people.load([personKey])).people.get(personKey);
  }
  if (!stored || stored.version === 0) throw new Problem(404, 'not_found', `No user ${userId}`);
  const stats = stored.stats;
  const today = dayNumber(Date.now());
  const scores = await Promise.all(
    Object.entries(stats.scores ?? {}).map(async ([model, score]) => {
      const version = await deps.models.version(model, score.version);
      return scoreView(
        model,
        version?.kind ?? 'unknown',
        score,
        version && explainPerson(version, stats, today),
      );
    }),
  );
  return {
    status: 200,
    body: { userId: personKey, ...(personKey !== userId && { resolvedFrom: userId }), scores },
  };
};

export const handler = httpHandler({
  module: 'models/models',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { putModel, listModels, getModel, trainModel, userScores },
});
