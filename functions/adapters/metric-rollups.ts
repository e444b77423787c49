/**
 * Day rollups of campaign counters in the metrics table (key design: metrics-repository.ts; what a
 * rollup holds and why it stays exact: functions/core/day-rollups.ts). Compaction writes them;
 * day-granularity reports read them, and the raw quarter rows only for what they do not cover.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type DayRollup,
  daysBetween,
  lastSettledDay,
  nextDay,
  planDayRead,
  rollUpDay,
  rollupRows,
  type StoredDay,
} from '../core/day-rollups';
import type { QuarterData } from '../core/metrics-report';
import { putIf, updateIf } from './dynamo';
import {
  type CampaignRegistry,
  campaignRegistryKey,
  counterPk,
  type MetricsRepository,
  rollupKey,
  storedUniques,
} from './metrics-repository';

const DAY_SK = 'd#';

const storedDay = (item: Record<string, unknown>): StoredDay => {
  const late = (item.late as number | undefined) ?? 0;
  if (item.rolled !== true || late !== ((item.folded as number | undefined) ?? 0)) return { state: 'stale' };
  return {
    state: 'clean',
    rollup: {
      day: (item.sk as string).slice(DAY_SK.length),
      quarters: (item.q as DayRollup['quarters'] | undefined) ?? {},
      uniques: storedUniques(item),
    },
  };
};

export class MetricRollups {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly metrics: MetricsRepository,
  ) {}

  /** The rollup items of [fromDay, toDay] (one Query, all pages). */
  async storedDays(campaignId: string, fromDay: string, toDay: string): Promise<Map<string, StoredDay>> {
    const out = new Map<string, StoredDay>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': rollupKey(campaignId, fromDay).pk,
            ':from': `${DAY_SK}${fromDay}`,
            ':to': `${DAY_SK}${toDay}`,
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.set((item.sk as string).slice(DAY_SK.length), storedDay(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** Report rows of [fromQuarter, toQuarter]: rollups for whole closed days, raw rows for the rest. */
  async dayReportRows(
    campaignId: string,
    registry: CampaignRegistry,
    fromQuarter: string,
    toQuarter: string,
  ): Promise<QuarterData[]> {
    const stored = await this.storedDays(campaignId, fromQuarter.slice(0, 10), toQuarter.slice(0, 10));
    const plan = planDayRead(fromQuarter, toQuarter, stored, registry.compactedThrough);
    const raw = await Promise.all(
      plan.raw.flatMap(([from, to]) =>
        registry.shards.map((s) => this.metrics.quarters(campaignId, s, from, to)),
      ),
    );
    return [...plan.rollups.flatMap(rollupRows), ...raw.flat()];
  }

  /**
   * Roll one day up from every shard's quarter rows. Reads `late` first and stores it as `folded`,
   * with the condition that it has not moved: a late write after the read leaves it stale.
   * Returns false when a late write raced it (the day stays in `lateDays` for the next try).
   */
  async compactDay(campaignId: string, shards: readonly string[], day: string): Promise<boolean> {
    const key = rollupKey(campaignId, day);
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const late = (Item?.late as number | undefined) ?? 0;
    const rows = (
      await Promise.all(
        shards.map((s) => this.metrics.quarters(campaignId, s, `${day}T00:00`, `${day}T23:45`)),
      )
    ).flat();
    // An empty day needs no item, unless a late mark made one.
    if (rows.length === 0 && late === 0) return true;
    const rollup = rollUpDay(day, rows);
    const uniques =
      'sketch' in rollup.uniques ? { hll: rollup.uniques.sketch } : exactSet(rollup.uniques.exact);
    return putIf(this.db, {
      TableName: this.tableName,
      Item: { ...key, rolled: true, q: rollup.quarters, ...uniques, late, folded: late },
      ConditionExpression: 'attribute_not_exists(late) OR late = :late',
      ExpressionAttributeValues: { ':late': late },
    });
  }

  /** The first day any shard holds a quarter of (where compaction starts). */
  async firstDay(campaignId: string, shards: readonly string[]): Promise<string | undefined> {
    const firsts = await Promise.all(
      shards.map(async (s) => {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)',
            ExpressionAttributeValues: { ':pk': counterPk(campaignId, s), ':q': 'q#' },
            Limit: 1,
          }),
        );
        return (out.Items?.[0]?.sk as string | undefined)?.slice(2, 12);
      }),
    );
    return firsts.filter((d): d is string => d !== undefined).sort()[0];
  }

  /** Compaction has passed `day` (never moves back). */
  async advance(campaignId: string, day: string): Promise<void> {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: campaignRegistryKey(campaignId),
      UpdateExpression: 'SET compactedThrough = :d',
      ConditionExpression: 'attribute_not_exists(compactedThrough) OR compactedThrough < :d',
      ExpressionAttributeValues: { ':d': day },
    });
  }

  /** Take a late day off the work list, before folding it (a later mark puts it back). */
  async takeLateDay(campaignId: string, day: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: campaignRegistryKey(campaignId),
        UpdateExpression: 'DELETE lateDays :d',
        ExpressionAttributeValues: { ':d': new Set([day]) },
      }),
    );
  }

  /** The days compaction should fold next for a campaign, oldest first, at most `limit`. */
  async dueDays(campaignId: string, registry: CampaignRegistry, nowMs: number, limit: number) {
    const settled = lastSettledDay(nowMs);
    const late = registry.lateDays.filter((d) => d <= settled);
    const from = registry.compactedThrough
      ? nextDay(registry.compactedThrough)
      : await this.firstDay(campaignId, registry.shards);
    const fresh = from === undefined ? [] : daysBetween(from, settled);
    return { late: late.slice(0, limit), fresh: fresh.slice(0, Math.max(0, limit - late.length)) };
  }
}

/** A binary set cannot be empty in DynamoDB: no persons, no attribute. */
const exactSet = (hashes: readonly Uint8Array[]) => (hashes.length > 0 ? { uu: new Set(hashes) } : {});
