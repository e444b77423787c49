/** Analysts' campaign metrics, read from the counters the aggregate function keeps. */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricsRepository } from '../adapters/metrics-repository';
import { campaignBreakdowns } from '../core/aggregates';
import { campaignReport, metricsQuerySchema, resolveRange } from '../core/metrics-report';
import { Problem } from '../core/problem';
import { pageQuerySchema, parseQuery } from '../core/query';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { HttpRequest, HttpResponse } from '../http/types';

const repository = new MetricsRepository(documentClient(), requireEnv(tables.metrics.envVar));

const listCampaigns = async ({ event }: HttpRequest): Promise<HttpResponse> => {
  const { limit, cursor } = parseQuery(pageQuerySchema, event.queryStringParameters);
  const page = await repository.listCampaigns(Math.min(limit, 100), cursor);
  const items = await Promise.all(
    page.items.map(async (c) => {
      const { events, totals } = campaignBreakdowns(await repository.totals(c.campaignId, c.shards));
      return { campaignId: c.campaignId, firstSeen: c.firstSeen, events, totals };
    }),
  );
  return { status: 200, body: { items, ...(page.nextCursor && { nextCursor: page.nextCursor }) } };
};

const campaign = async ({ event }: HttpRequest): Promise<HttpResponse> => {
  const campaignId = event.pathParameters?.campaignId ?? '';
  const query = parseQuery(metricsQuerySchema, event.queryStringParameters);
  const shards = await repository.campaignShards(campaignId);
  if (!shards) throw new Problem(404, 'not_found', `No events for campaign ${campaignId}`);
  const { fromQuarter, toQuarter } = resolveRange(query);
  const rows = (
    await Promise.all(shards.map((s) => repository.quarters(campaignId, s, fromQuarter, toQuarter)))
  ).flat();
  return { status: 200, body: campaignReport(campaignId, query, rows) };
};

export const handler = httpHandler({
  module: 'metrics/metrics',
  authenticators: { jwt: jwtAuthenticator() },
  handle: (request) =>
    request.route.id === 'listCampaignMetrics' ? listCampaigns(request) : campaign(request),
});
