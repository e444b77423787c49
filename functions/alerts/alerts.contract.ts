/** What `alerts/alerts` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { ALERT_METRICS, alertBodySchema, alertIdSchema } from '../core/alerts';
import { ok, page } from '../core/response-schemas';
import type { Contract } from '../http/operations';

const alertSchema = z.object({
  alertId: z.string(),
  campaignId: z.string(),
  metric: z.enum(ALERT_METRICS),
  windowMinutes: z.int(),
  condition: z.record(z.string(), z.unknown()),
  enabled: z.boolean(),
  cooldownMinutes: z.int(),
  description: z.optional(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  state: z.optional(
    z.object({
      holding: z.boolean(),
      lastEvaluatedAt: z.string(),
      lastValue: z.number(),
      baseline: z.optional(z.number()),
      lastFiredAt: z.optional(z.string()),
    }),
  ),
});
const params = { alertId: alertIdSchema };

export const contract = {
  putAlert: {
    params,
    body: alertBodySchema,
    responses: {
      200: { description: 'The alert (replaced)', schema: alertSchema },
      201: { description: 'The alert (created); evaluated every few minutes', schema: alertSchema },
    },
  },
  listAlerts: { responses: ok('Campaign alerts with their last evaluation', page(alertSchema)) },
  deleteAlert: { params, responses: { 204: { description: 'Deleted' } } },
} satisfies Contract<'alerts/alerts'>;
