/** What `identity/identify` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { identifySchema } from '../core/identity';
import { acceptedSchema } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  identify: {
    body: identifySchema,
    responses: {
      202: {
        description: 'The identify event is in the stream; `ignoredTraits` names undeclared traits (dropped)',
        schema: z.extend(acceptedSchema, { ignoredTraits: z.optional(z.array(z.string())) }),
      },
    },
  },
} satisfies Contract<'identity/identify'>;
