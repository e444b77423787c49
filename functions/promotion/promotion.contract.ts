/** What `promotion/promotion` takes and answers (see functions/http/operations.ts). */
import { promotionQuerySchema } from '../core/experiments';
import type { Contract } from '../http/operations';

export const contract = {
  promotion: {
    query: promotionQuerySchema,
    responses: {
      200: { description: 'The content for this person at this placement' },
      204: { description: 'No running experiment targets this person at this placement' },
    },
  },
} satisfies Contract<'promotion/promotion'>;
