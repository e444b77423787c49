/** What `traits/connectors` takes and answers (see functions/http/operations.ts). */
import { connectorBodySchema, connectorIdSchema } from '../core/crm-sync';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  putConnector: {
    params: { connectorId: connectorIdSchema },
    body: connectorBodySchema,
    responses: {
      200: { description: 'The connector (replaced); its cursor is kept' },
      201: { description: 'The connector (created): the next scheduled run pulls every contact' },
    },
  },
  connectorStatus: {
    params: { connectorId: connectorIdSchema },
    responses: ok("The connector, its cursor and its last run's counts"),
  },
} satisfies Contract<'traits/connectors'>;
