/**
 * Compaction of closed days into day rollups (functions/core/day-rollups.ts): for each campaign,
 * the days written late (folded again) and the days closed since the last run, oldest first,
 * until the deadline; what is left waits for the next run.
 */
import type { MetricRollups } from '../adapters/metric-rollups';
import type { MetricsRepository } from '../adapters/metrics-repository';

export interface CompactionDeps {
  metrics: MetricsRepository;
  rollups: MetricRollups;
}

export interface CompactionResult {
  campaigns: number;
  days: number;
  /** Days a late write raced: still listed, folded by a later run. */
  raced: number;
  /** The deadline came before every campaign was done. */
  unfinished: boolean;
}

/** Days per campaign per run: a backlog of a year is caught up over a few runs, fairly. */
export const DAYS_PER_RUN = 62;

export const runCompaction = async (
  deps: CompactionDeps,
  now: Date,
  deadline: number,
): Promise<CompactionResult> => {
  const result: CompactionResult = { campaigns: 0, days: 0, raced: 0, unfinished: false };
  let cursor: string | undefined;
  do {
    const page = await deps.metrics.listCampaigns(100, cursor);
    for (const { campaignId } of page.items) {
      if (Date.now() >= deadline) return { ...result, unfinished: true };
      const registry = await deps.metrics.campaign(campaignId);
      if (!registry) continue;
      const due = await deps.rollups.dueDays(campaignId, registry, now.getTime(), DAYS_PER_RUN);
      for (const day of due.late) {
        await deps.rollups.takeLateDay(campaignId, day);
        if (!(await deps.rollups.compactDay(campaignId, registry.shards, day))) result.raced++;
        result.days++;
      }
      for (const day of due.fresh) {
        if (Date.now() >= deadline) return { ...result, unfinished: true };
        if (!(await deps.rollups.compactDay(campaignId, registry.shards, day))) result.raced++;
        await deps.rollups.advance(campaignId, day);
        result.days++;
      }
      if (due.late.length + due.fresh.length > 0) result.campaigns++;
    }
    cursor = page.nextCursor;
  } while (cursor);
  return result;
};
