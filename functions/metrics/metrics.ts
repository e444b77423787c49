/** Analysts' campaign metrics, read from the counters the aggregate function keeps. */
import pLimit from 'p-limit';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricRollups } from '../adapters/metric-rollups';
import { type CampaignRegistry, MetricsRepository } from '../adapters/metrics-repository';
import { campaignBreakdowns } from '../core/aggregates';
import {
  type CampaignListQuery,
  decodeOffset,
  encodeOffset,
  lastActivityOf,
  MAX_LIST_PAGE,
  sortCampaigns,
} from '../core/campaign-list';
import { campaignReport, resolveRange } from '../core/metrics-report';
import { Problem } from '../core/problem';
import { localDate } from '../core/time-buckets';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { contract } from './metrics.contract';

const db = documentClient();
const table = requireEnv(tables.metrics.envVar);
const repository = new MetricsRepository(db, table);
const rollups = new MetricRollups(db, table, repository);
/** Campaign reads in flight at once (each is one small request per shard). */
const reads = pLimit(16);

type Registered = CampaignRegistry & { campaignId: string; firstSeen: string };

const quarterRows = async (
  campaignId: string,
  shards: readonly string[],
  fromQuarter: string,
  toQuarter: string,
) =>
  (await Promise.all(shards.map((s) => repository.quarters(campaignId, s, fromQuarter, toQuarter)))).flat();

/** The recent window of the list: `days` local days in `tz`, today included, up to now. */
const windowQuery = (q: CampaignListQuery, now: number) => ({
  from: localDate(now - (q.days - 1) * 86_400_000, q.tz),
  granularity: 'day' as const,
  tz: q.tz,
});

const windowReport = async (c: Registered, q: CampaignListQuery, now: number) => {
  const query = windowQuery(q, now);
  const { fromQuarter, toQuarter } = resolveRange(query, now);
  // Day buckets: the day rollups where they cover whole days.
  return campaignReport(
    c.campaignId,
    query,
    await rollups.dayReportRows(c.campaignId, c, fromQuarter, toQuarter),
    now,
  );
};

/** What every campaign needs before sorting: its last activity and lifetime totals. */
const sortKeys = async (c: Registered) => {
  const [last, totals] = await Promise.all([
    Promise.all(c.shards.map((s) => repository.lastQuarter(c.campaignId, s))),
    repository.totals(c.campaignId, c.shards),
  ]);
  const breakdowns = campaignBreakdowns(totals);
  return {
    ...c,
    lastActivity: lastActivityOf(last),
    events: breakdowns.events,
    conversions: breakdowns.totals.conversion ?? 0,
    breakdowns,
  };
};

const listCampaigns = async (q: CampaignListQuery) => {
  const now = Date.now();
  const registered = await repository.allCampaigns();
  const keyed = await Promise.all(registered.map((c) => reads(() => sortKeys(c))));
  // The window is read for every campaign only when it is the sort key.
  const windows =
    q.sort === 'uniqueUsers'
      ? new Map(
          await Promise.all(
            keyed.map((c) => reads(async () => [c.campaignId, await windowReport(c, q, now)] as const)),
          ),
        )
      : new Map<string, Awaited<ReturnType<typeof windowReport>>>();
  const sorted = sortCampaigns(
    keyed.map((c) => ({ ...c, uniqueUsers: windows.get(c.campaignId)?.uniqueUsers })),
    q.sort,
    q.order,
  );
  const offset = decodeOffset(q.cursor);
  const limit = Math.min(q.limit, MAX_LIST_PAGE);
  const page = sorted.slice(offset, offset + limit);
  const items = await Promise.all(
    page.map(async (c) => {
      const recent = windows.get(c.campaignId) ?? (await reads(() => windowReport(c, q, now)));
      return {
        campaignId: c.campaignId,
        firstSeen: c.firstSeen,
        ...(c.lastActivity && { lastActivity: c.lastActivity }),
        ...c.breakdowns,
        uniqueUsers: recent.uniqueUsers,
        ...(recent.uniqueUsersEstimated && { uniqueUsersEstimated: true }),
        sparkline: recent.series.map((b) => ({
          start: b.start,
          events: sumOf(b.counts),
          uniqueUsers: b.uniqueUsers,
        })),
      };
    }),
  );
  return {
    window: {
      days: q.days,
      tz: q.tz,
      from: new Date(resolveRange(windowQuery(q, now), now).from).toISOString(),
    },
    items,
    ...(offset + limit < sorted.length && { nextCursor: encodeOffset(offset + limit) }),
  };
};

const sumOf = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

export const handler = httpHandler({
  module: 'metrics/metrics',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    listCampaignMetrics: async (_request, { query }) => ({ status: 200, body: await listCampaigns(query) }),
    campaignMetrics: async (_request, { params: { campaignId }, query }) => {
      const registry = await repository.campaign(campaignId);
      if (!registry) throw new Problem(404, 'not_found', `No events for campaign ${campaignId}`);
      const { fromQuarter, toQuarter } = resolveRange(query);
      // Day series read the day rollups where they cover whole days; hour series read raw rows.
      const rows =
        query.granularity === 'day'
          ? await rollups.dayReportRows(campaignId, registry, fromQuarter, toQuarter)
          : await quarterRows(campaignId, registry.shards, fromQuarter, toQuarter);
      return { status: 200, body: campaignReport(campaignId, query, rows) };
    },
  },
});
