/** What `metrics/metrics` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { campaignIdSchema } from '../core/events';
import { metricsQuerySchema } from '../core/metrics-report';
import { pageQuerySchema } from '../core/query';
import { campaignReport, counts, ok, page } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  listCampaignMetrics: {
    query: pageQuerySchema,
    responses: ok(
      'Campaigns with totals by type',
      page(z.looseObject({ campaignId: z.string(), events: z.int(), totals: counts })),
    ),
  },
  campaignMetrics: {
    params: { campaignId: campaignIdSchema },
    query: metricsQuerySchema,
    responses: ok('The campaign report', campaignReport),
  },
} satisfies Contract<'metrics/metrics'>;
