/** What `metrics/metrics` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { campaignListQuerySchema } from '../core/campaign-list';
import { campaignIdSchema } from '../core/events';
import { metricsQuerySchema } from '../core/metrics-report';
import { campaignReport, counts, ok, page } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  listCampaignMetrics: {
    query: campaignListQuerySchema,
    responses: ok(
      'Campaigns, by last activity unless told otherwise, with lifetime totals and a recent window',
      z.extend(
        page(
          z.looseObject({
            campaignId: z.string(),
            firstSeen: z.string(),
            lastActivity: z.optional(z.string()),
            events: z.int(),
            totals: counts,
            conversionValue: z.record(z.string(), z.number()),
            uniqueUsers: z.int(),
            uniqueUsersEstimated: z.optional(z.boolean()),
            sparkline: z.array(z.object({ start: z.string(), events: z.int(), uniqueUsers: z.int() })),
          }),
        ),
        { window: z.object({ days: z.int(), tz: z.string(), from: z.string() }) },
      ),
    ),
  },
  campaignMetrics: {
    params: { campaignId: campaignIdSchema },
    query: metricsQuerySchema,
    responses: ok('The campaign report', campaignReport),
  },
} satisfies Contract<'metrics/metrics'>;
