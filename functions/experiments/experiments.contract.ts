/** What `experiments/experiments` takes and answers (see functions/http/operations.ts). */
import { experimentListQuerySchema, experimentPatchSchema } from '../core/experiment-admin';
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
  // ---- console (issue 18) ----
  listExperiments: {
    query: experimentListQuerySchema,
    responses: ok('Experiments, most recently changed first'),
  },
  patchExperiment: {
    params,
    body: experimentPatchSchema,
    responses: ok('The experiment as stored, with its new status'),
  },
  deleteExperiment: {
    params,
    responses: { 204: { description: 'Deleted (it was a draft that never ran)' } },
  },
} satisfies Contract<'experiments/experiments'>;
