/** What `service/health` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

const healthReport = z.looseObject({
  status: z.enum(['ok', 'degraded']),
  checkedAt: z.string(),
  components: z.record(z.string(), z.enum(['ok', 'unavailable'])),
});

export const contract = {
  health: { responses: ok('The API answers', z.looseObject({ status: z.literal('ok') })) },
  healthDeep: {
    responses: {
      ...ok('The stream and every table answer', healthReport),
      503: { description: 'Some component does not answer: named in `components`', schema: healthReport },
    },
  },
} satisfies Contract<'service/health'>;
