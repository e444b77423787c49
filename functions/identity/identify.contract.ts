/** What `identity/identify` takes and answers (see functions/http/operations.ts). */
import { identifySchema } from '../core/identity';
import { acceptedSchema } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  identify: {
    body: identifySchema,
    responses: { 202: { description: 'The identify event is in the stream', schema: acceptedSchema } },
  },
} satisfies Contract<'identity/identify'>;
