/** What `models/models` takes and answers (see functions/http/operations.ts). */
import { personIdSchema } from '../core/events';
import { modelBodySchema, modelNameSchema } from '../core/models/definition';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  // parseModelBody adds the checks a schema cannot say (a propensity model needs a target).
  putModel: {
    params: { name: modelNameSchema },
    body: modelBodySchema,
    responses: {
      200: { description: 'The model (replaced); the next run trains it as declared' },
      201: { description: 'The model (created); train it now with POST …/train, or wait for its schedule' },
    },
  },
  listModels: { responses: ok('Every model with its current version and last run') },
  getModel: {
    params: { name: modelNameSchema },
    responses: ok(
      'The model: definition, published version with metrics, coefficients and importances, recent versions',
    ),
  },
  trainModel: {
    params: { name: modelNameSchema },
    responses: {
      202: {
        description:
          'Requested: the workflow runs it within 15 minutes (local stack: running in process now); ' +
          'the run appears as lastRun on GET /api/models/{name}',
      },
    },
  },
  userScores: {
    params: { userId: personIdSchema },
    responses: ok("The person's scores, each with its percentile and the top contributions behind it"),
  },
} satisfies Contract<'models/models'>;
