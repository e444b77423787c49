/**
 * `PUT /api/experiments/{experimentId}` (admin): create or update a definition, with the
 * change rules of functions/core/experiments (409). `GET /api/experiments/{experimentId}`
 * (analyst): the definition. `GET /api/experiments/{experimentId}/results` (analyst):
 * exposures, conversions, rates, lift, 95 % CI, p-value and SRM per variant.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { MetricsRepository } from '../adapters/metrics-repository';
import { logger } from '../adapters/observability';
import { assertDeletable, filterExperiments, withStatus } from '../core/experiment-admin';
import { modeOf } from '../core/experiment-design';
import { experimentMetricResults } from '../core/experiment-results';
import { applyUpdate, EXPERIMENT_LIMITS, type StoredExperiment } from '../core/experiments';
import { Problem } from '../core/problem';
import { experimentStats } from '../core/stats';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './experiments.contract';

const db = documentClient();
const experiments = new ExperimentsRepository(db, requireEnv(tables.experiments.envVar));
const results = new MetricsRepository(db, requireEnv(tables.metrics.envVar));

const existing = async (experimentId: string): Promise<StoredExperiment> => {
  const experiment = await experiments.get(experimentId);
  if (!experiment) throw new Problem(404, 'not_found', `No experiment ${experimentId}`);
  return experiment;
};

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const putExperiment: Handler<'putExperiment'> = async (request, { params: { experimentId }, body }) => {
  const current = await experiments.get(experimentId);
  // Mutual exclusion by placement needs the others only when this one is to run.
  const running =
    body.status === 'running'
      ? (await experiments.list()).filter((e) => e.status === 'running' && e.placement === body.placement)
      : [];
  const next = applyUpdate(experimentId, current, body, running, request.receivedAt);
  if (!(await experiments.put(next, current?.version ?? 0)))
    throw new Problem(
      409,
      'conflict',
      `Experiment ${experimentId} was changed by another request meanwhile: read it again and retry`,
    );
  logger.info('experiment saved', { experimentId, status: next.status, version: next.version });
  return { status: current ? 200 : 201, body: next };
};

const getExperiment: Handler<'getExperiment'> = async (_request, { params }) => ({
  status: 200,
  body: await existing(params.experimentId),
});

const experimentResults: Handler<'experimentResults'> = async (_request, { params }) => {
  const experiment = await existing(params.experimentId);
  // experiments v2: every counter per variant, for the metrics beyond the goal
  const counters = await results.experimentCounters(experiment.experimentId);
  const stats = experimentStats(
    experiment.variants.map((v) => ({
      id: v.id,
      weight: v.weight,
      exposures: counters.get(v.id)?.exposures ?? 0,
      conversions: counters.get(v.id)?.conversions ?? 0,
    })),
  );
  const mode = modeOf(experiment);
  const v2 = experimentMetricResults(experiment, counters);
  return {
    status: 200,
    body: {
      experimentId: experiment.experimentId,
      placement: experiment.placement,
      status: experiment.status,
      goal: experiment.goal,
      ...(experiment.startedAt && { startedAt: experiment.startedAt }),
      ...(experiment.stoppedAt && { stoppedAt: experiment.stoppedAt }),
      ...stats,
      // A bandit moved its weights on purpose: the split cannot be checked against them.
      ...(mode === 'bandit' && { srm: { chiSquare: null, df: 0, pValue: null, flagged: false } }),
      mode,
      ...(experiment.allocation && { allocation: experiment.allocation }),
      ...v2,
    },
  };
};

// ---- console (issue 18): list, status change alone, delete a draft ----------------------------

const CHANGED_MEANWHILE = (experimentId: string) =>
  new Problem(
    409,
    'conflict',
    `Experiment ${experimentId} was changed by another request meanwhile: read it again and retry`,
  );

const listExperiments: Handler<'listExperiments'> = async (_request, { query }) => ({
  status: 200,
  body: { items: filterExperiments(await experiments.list(), query) },
});

const patchExperiment: Handler<'patchExperiment'> = async (request, { params: { experimentId }, body }) => {
  const current = await existing(experimentId);
  const running =
    body.status === 'running'
      ? (await experiments.list()).filter((e) => e.status === 'running' && e.placement === current.placement)
      : [];
  const next = withStatus(current, body.status, running, request.receivedAt);
  if (!(await experiments.put(next, current.version))) throw CHANGED_MEANWHILE(experimentId);
  logger.info('experiment status changed', { experimentId, from: current.status, to: next.status });
  return { status: 200, body: next };
};

const deleteExperiment: Handler<'deleteExperiment'> = async (_request, { params: { experimentId } }) => {
  const current = await existing(experimentId);
  assertDeletable(current);
  if (!(await experiments.delete(experimentId, current.version))) throw CHANGED_MEANWHILE(experimentId);
  logger.info('draft experiment deleted', { experimentId });
  return { status: 204 };
};

export const handler = httpHandler({
  module: 'experiments/experiments',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  body: { maxBytes: EXPERIMENT_LIMITS.bodyBytes },
  handlers: {
    putExperiment,
    getExperiment,
    experimentResults,
    listExperiments,
    patchExperiment,
    deleteExperiment,
  },
});
