/** What `experiments/features` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { flagBodySchema, flagKeySchema } from '../core/flags';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

const params = { flagKey: flagKeySchema };

export const contract = {
  putFlag: {
    params,
    body: flagBodySchema,
    responses: {
      200: { description: 'The flag as stored (replaced)' },
      201: { description: 'The flag as stored (created)' },
    },
  },
  getFlag: { params, responses: ok('The flag definition') },
  sdkFeatures: {
    // An unknown or revoked key is an unknown project: 404, as GrowthBook's API answers.
    params: { clientKey: z.string().check(z.minLength(1), z.maxLength(256)) },
    notFoundParams: ['clientKey'],
    responses: ok('Running experiments, holdouts and flags in GrowthBook SDK payload format'),
  },
} satisfies Contract<'experiments/features'>;
