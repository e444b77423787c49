/** Analysts' campaign metrics, read from the counters the aggregate function keeps. */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricRollups } from '../adapters/metric-rollups';
import { MetricsRepository } from '../adapters/metrics-repository';
import { campaignBreakdowns } from '../core/aggregates';
import { campaignReport, resolveRange } from '../core/metrics-report';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { contract } from './metrics.contract';

const db = documentClient();
const table = requireEnv(tables.metrics.envVar);
const repository = new MetricsRepository(db, table);
const rollups = new MetricRollups(db, table, repository);

export const handler = httpHandler({
  module: 'metrics/metrics',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    listCampaignMetrics: async (_request, { query }) => {
      const page = await repository.listCampaigns(Math.min(query.limit, 100), query.cursor);
      const items = await Promise.all(
        page.items.map(async (c) => {
          const { events, totals } = campaignBreakdowns(await repository.totals(c.campaignId, c.shards));
          return { campaignId: c.campaignId, firstSeen: c.firstSeen, events, totals };
        }),
      );
      return { status: 200, body: { items, ...(page.nextCursor && { nextCursor: page.nextCursor }) } };
    },
    campaignMetrics: async (_request, { params: { campaignId }, query }) => {
      const registry = await repository.campaign(campaignId);
      if (!registry) throw new Problem(404, 'not_found', `No events for campaign ${campaignId}`);
      const { fromQuarter, toQuarter } = resolveRange(query);
      // Day series read the day rollups where they cover whole days; hour series read raw rows.
      const rows =
        query.granularity === 'day'
          ? await rollups.dayReportRows(campaignId, registry, fromQuarter, toQuarter)
          : (
              await Promise.all(
                registry.shards.map((s) => repository.quarters(campaignId, s, fromQuarter, toQuarter)),
              )
            ).flat();
      return { status: 200, body: campaignReport(campaignId, query, rows) };
    },
  },
});
