/**
 * The model workflow's steps as one Lambda function (lib/constructs/models.ts): the event names
 * the step and carries its input; each step is the same function the local stack runs in process
 * (pipeline.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { modelWorkflow } from '../../lib/workflows';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { pipelineDeps } from './deps';
import { extract, finish, plan, publish, type RunInput, score, type TrainOutput, train } from './pipeline';

const deps = pipelineDeps();

export type StepEvent =
  | { step: 'plan' }
  | { step: 'extract' | 'score'; input: RunInput & { segment: number; totalSegments: number } }
  | { step: 'train'; input: RunInput }
  | { step: 'publish'; input: RunInput & { trained: TrainOutput } }
  | {
      step: 'finish';
      input: RunInput & { trained: TrainOutput; scores?: { scored: number }[] };
    };

const segmentsOf = (run: RunInput) =>
  Array.from({ length: modelWorkflow.segments }, (_, segment) => ({
    ...run,
    segment,
    totalSegments: modelWorkflow.segments,
  }));

const runStep = async (event: StepEvent): Promise<unknown> => {
  switch (event.step) {
    case 'plan': {
      const runs = await plan(deps);
      if (runs.length > 0) logger.info('model runs due', { models: runs.map((r) => r.name) });
      return { runs: runs.map((run) => ({ ...run, segments: segmentsOf(run) })) };
    }
    case 'extract':
      return extract(deps, event.input);
    case 'train': {
      const trained = await train(deps, event.input);
      logger.info('model trained', { model: event.input.name, ...trained });
      metrics.addMetric(trained.passed ? 'ModelsPublished' : 'ModelsRefused', MetricUnit.Count, 1);
      return trained;
    }
    case 'publish':
      await publish(deps, { ...event.input, version: event.input.trained.version });
      return { published: event.input.trained.version };
    case 'score': {
      const out = await score(deps, event.input);
      metrics.addMetric('PeopleScored', MetricUnit.Count, out.scored);
      return out;
    }
    case 'finish': {
      const { trained, scores = [] } = event.input;
      return finish(deps, {
        ...event.input,
        version: trained.version,
        published: trained.passed,
        reasons: trained.reasons,
        scored: scores.reduce((n, s) => n + s.scored, 0),
      });
    }
  }
};

export const handler = middy(runStep).use(injectLambdaContext(logger)).use(logMetrics(metrics));
