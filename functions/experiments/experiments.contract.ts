/** What `experiments/experiments` takes and answers (see functions/http/operations.ts). */
import { experimentBodySchema, experimentIdSchema } from '../core/experiments';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

const params = { experimentId: experimentIdSchema };

export const contract = {
  putExperiment: {
    params,
    body: experimentBodySchema,
    responses: {
      200: { description: 'The experiment as stored (replaced)' },
      201: { description: 'The experiment as stored (created)' },
    },
  },
  getExperiment: { params, responses: ok('The experiment definition') },
  experimentResults: {
    params,
    responses: ok('Exposures, conversions, rates, lift with its 95% CI, p-value and SRM per variant'),
  },
} satisfies Contract<'experiments/experiments'>;
