/**
 * Campaign counters in the metrics table.
 *
 * Key design: `c#<campaignId>#<shardId>` / `q#<quarter>` (quarter-hour counters and the exact
 * set of person hashes, or a sketch once large) and `.../total`. Keying by the stream shard
 * does two jobs: a hot campaign's writes spread over every shard (summed on read), and each
 * item has exactly one writer, in stream order, so a checkpoint attribute (the last applied
 * sequence number, fixed width) makes every write exactly-once: the update applies only
 * if the item has not seen the batch's first record, and on a redelivery the delta is
 * recomputed from the records newer than the checkpoint. `campaigns` / `<campaignId>` lists
 * the shards that hold a campaign's counters.
 *
 * Day rollups (functions/core/day-rollups.ts, written by metric-rollups.ts): `r#<campaignId>` /
 * `d#<day>` holds one closed UTC day summed over every shard; the registry item also carries
 * `compactedThrough` (the last day compaction passed) and `lateDays` (days written after they
 * closed, for compaction to fold again). The consumer marks such a late write here (`markLate`).
 *
 * Experiment results the same way: `x#<experimentId>#<shardId>` / `v#<variant>` (exposures,
 * conversions), and `experiments` / `<experimentId>` lists their shards. What each counter
 * attribute means is declared in functions/core/aggregates.ts.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  addCounters,
  counterAttributes,
  roundAmount,
  type VariantCounts,
  variantCounts,
} from '../core/aggregates';
import {
  type Contribution,
  type CounterDelta,
  type CounterTarget,
  sumAfter,
  TOTAL_BUCKET,
} from '../core/campaign-counters';
import { dayOfQuarter, isLateForRollup } from '../core/day-rollups';
import { addToSketch, type BucketUniques, EXACT_CAP, emptySketch } from '../core/uniques';
import { isConditionFailed, queryPage, queryPartition } from './dynamo';
import type { Page } from './pagination';

export const counterPk = (campaignId: string, shardId: string) => `c#${campaignId}#${shardId}`;
const EXPERIMENT_REGISTRY_PK = 'experiments';
const experimentCounterPk = (experimentId: string, shardId: string) => `x#${experimentId}#${shardId}`;
const VARIANT_SK_PREFIX = 'v#';
const variantCounterSk = (variantId: string) => `${VARIANT_SK_PREFIX}${variantId}`;
/** Experiment results: `x#<experimentId>#<shardId>` / `v#<variant>` (exposures, conversions). */
export const experimentCounterKey = (experimentId: string, variant: string, shardId: string) => ({
  pk: experimentCounterPk(experimentId, shardId),
  sk: variantCounterSk(variant),
});
const bucketSk = (bucket: string) => (bucket === TOTAL_BUCKET ? TOTAL_BUCKET : `q#${bucket}`);
const REGISTRY_PK = 'campaigns';
/** The campaign's registry item: its shards, and what day compaction has reached. */
export const campaignRegistryKey = (campaignId: string) => ({ pk: REGISTRY_PK, sk: campaignId });
/** A day rollup (summed over shards): `r#<campaignId>` / `d#<day>`. */
export const rollupKey = (campaignId: string, day: string) => ({ pk: `r#${campaignId}`, sk: `d#${day}` });
/** Which shards hold counters of what: `campaigns` / `<campaignId>`, `experiments` / `<experimentId>`. */
const registryPk = (kind: 'campaign' | 'experiment') =>
  kind === 'campaign' ? REGISTRY_PK : EXPERIMENT_REGISTRY_PK;

const counterKey = (target: CounterTarget, shardId: string) =>
  target.kind === 'campaign'
    ? { pk: counterPk(target.campaignId, shardId), sk: bucketSk(target.bucket) }
    : experimentCounterKey(target.experimentId, target.variant, shardId);

/** Distinct persons as an item stores them: `uu` (exact hashes) or `hll` (a sketch). */
export const storedUniques = (item: Record<string, unknown>): BucketUniques =>
  item.hll
    ? { sketch: item.hll as Uint8Array }
    : { exact: [...((item.uu as Set<Uint8Array> | undefined) ?? [])] };

export interface CampaignRegistry {
  shards: string[];
  compactedThrough?: string;
  lateDays: string[];
}

export interface QuarterRow {
  quarter: string;
  counts: Record<string, number>;
  uniques: BucketUniques;
}

export class MetricsRepository {
  private readonly registered = new Set<string>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Apply one delta exactly once; returns write units consumed. */
  async apply(shardId: string, delta: CounterDelta, now = Date.now()): Promise<number> {
    const consumed = await this.applyOnce(shardId, delta);
    const t = delta.target;
    // After the write, and on every redelivery too: a crash between the two is redelivered.
    if (t.kind === 'campaign' && t.bucket !== TOTAL_BUCKET && isLateForRollup(t.bucket, now))
      return consumed + (await this.markLate(t.campaignId, dayOfQuarter(t.bucket)));
    return consumed;
  }

  /** A write reached a day that may be rolled up already: its rollup is stale until folded again. */
  /**
   * A write reached a day that may be rolled up already: its rollup is stale until folded again.
   * `late` first, then the work list: compaction takes a day off the list before reading `late`.
   */
  private async markLate(campaignId: string, day: string): Promise<number> {
    const marked = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: rollupKey(campaignId, day),
        UpdateExpression: 'ADD late :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const listed = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: campaignRegistryKey(campaignId),
        UpdateExpression: 'ADD lateDays :d',
        ExpressionAttributeValues: { ':d': new Set([day]) },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return (marked.ConsumedCapacity?.CapacityUnits ?? 0) + (listed.ConsumedCapacity?.CapacityUnits ?? 0);
  }

  private async applyOnce(shardId: string, delta: CounterDelta): Promise<number> {
    const key = counterKey(delta.target, shardId);
    const tracksUniques = delta.target.kind === 'campaign' && delta.target.bucket !== TOTAL_BUCKET;
    let consumed = 0;
    let sum = sumAfter(delta.contributions);
    for (let attempt = 0; sum && attempt < 5; attempt++) {
      try {
        consumed += await this.fastUpdate(key, sum, tracksUniques);
        return consumed;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // DynamoDB bills a failed conditional write too (at least one unit).
        consumed += 1;
      }
      // Either a redelivery (the item saw some of these records) or a bucket past the exact cap.
      const { Item, ConsumedCapacity } = await this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: key,
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      consumed += ConsumedCapacity?.CapacityUnits ?? 0;
      const checkpoint = (Item?.cp as string | undefined) ?? '';
      sum = sumAfter(delta.contributions, checkpoint);
      if (!sum) return consumed;
      const size = (Item?.uu as Set<Uint8Array> | undefined)?.size ?? 0;
      if (tracksUniques && (Item?.hll || size >= EXACT_CAP)) {
        consumed += await this.sketchUpdate(key, Item ?? {}, delta.contributions, checkpoint);
        return consumed;
      }
    }
    if (sum) throw new Error(`counter ${key.pk}/${key.sk} kept failing its condition`);
    return consumed;
  }

  private async fastUpdate(
    key: { pk: string; sk: string },
    sum: NonNullable<ReturnType<typeof sumAfter>>,
    tracksUniques: boolean,
  ): Promise<number> {
    const names: Record<string, string> = { '#cp': 'cp' };
    const values: Record<string, unknown> = { ':first': sum.firstSeq, ':last': sum.lastSeq };
    const adds: string[] = [];
    Object.entries(sum.counts).forEach(([field, n], i) => {
      names[`#f${i}`] = field;
      values[`:f${i}`] = n;
      adds.push(`#f${i} :f${i}`);
    });
    let condition = '(attribute_not_exists(#cp) OR #cp < :first)';
    // Bots' events and first/last-touch credits add no person (DynamoDB refuses an empty set).
    if (tracksUniques && sum.persons.length > 0) {
      names['#uu'] = 'uu';
      names['#hll'] = 'hll';
      values[':uu'] = new Set(sum.persons);
      values[':cap'] = EXACT_CAP;
      adds.push('#uu :uu');
      condition += ' AND attribute_not_exists(#hll) AND (attribute_not_exists(#uu) OR size(#uu) < :cap)';
    }
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: `SET #cp = :last ADD ${adds.join(', ')}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }

  /** Past the exact cap: read, fold the new persons into the sketch, write whole if still unchanged. */
  private async sketchUpdate(
    key: { pk: string; sk: string },
    item: Record<string, unknown>,
    contributions: readonly Contribution[],
    checkpoint: string,
  ): Promise<number> {
    const sum = sumAfter(contributions, checkpoint);
    if (!sum) return 0;
    const registers = item.hll ? new Uint8Array(item.hll as Uint8Array) : emptySketch();
    for (const h of (item.uu as Set<Uint8Array> | undefined) ?? []) addToSketch(registers, h);
    for (const h of sum.persons) addToSketch(registers, h);
    const counts = counterAttributes(item);
    addCounters(counts, sum.counts);
    const out = await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key, ...counts, cp: sum.lastSeq, hll: registers },
        ConditionExpression: checkpoint === '' ? 'attribute_not_exists(cp)' : 'cp = :cp',
        ExpressionAttributeValues: checkpoint === '' ? undefined : { ':cp': checkpoint },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }

  /** Record that a shard holds counters of a campaign or experiment (idempotent set add, cached). */
  async register(
    owner: { kind: 'campaign' | 'experiment'; id: string },
    shardId: string,
    firstSeen: string,
  ): Promise<number> {
    const cacheKey = `${owner.kind}\u0000${owner.id}\u0000${shardId}`;
    if (this.registered.has(cacheKey)) return 0;
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: registryPk(owner.kind), sk: owner.id },
        UpdateExpression: 'ADD shards :s SET firstSeen = if_not_exists(firstSeen, :t)',
        ExpressionAttributeValues: { ':s': new Set([shardId]), ':t': firstSeen },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.registered.add(cacheKey);
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }

  // ---- reads -----------------------------------------------------------------------------

  /** A page of the registry (the compaction walks it page by page). */
  async listCampaigns(
    limit: number,
    cursor?: string,
  ): Promise<Page<{ campaignId: string; shards: string[]; firstSeen: string }>> {
    const page = await queryPage(this.db, this.tableName, REGISTRY_PK, limit, cursor);
    return {
      ...page,
      items: page.items.map((i) => ({
        campaignId: i.sk as string,
        shards: [...((i.shards as Set<string>) ?? [])].sort(),
        firstSeen: i.firstSeen as string,
      })),
    };
  }

  async campaignShards(campaignId: string): Promise<string[] | undefined> {
    return (await this.campaign(campaignId))?.shards;
  }

  /** The campaign's registry item: its shards, how far compaction got, the days written late. */
  async campaign(campaignId: string): Promise<CampaignRegistry | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: campaignRegistryKey(campaignId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      shards: [...((Item.shards as Set<string>) ?? [])].sort(),
      compactedThrough: Item.compactedThrough as string | undefined,
      lateDays: [...((Item.lateDays as Set<string> | undefined) ?? [])].sort(),
    };
  }

  /** Totals of a campaign, summed over its shards. */
  async totals(campaignId: string, shards: readonly string[]): Promise<Record<string, number>> {
    const items = await Promise.all(
      shards.map((s) =>
        this.db.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { pk: counterPk(campaignId, s), sk: TOTAL_BUCKET },
          }),
        ),
      ),
    );
    const counts: Record<string, number> = {};
    for (const { Item } of items) addCounters(counts, counterAttributes(Item ?? {}));
    return counts;
  }

  /** Quarter rows of one shard in [fromQuarter, toQuarter], all pages. */
  async quarters(
    campaignId: string,
    shardId: string,
    fromQuarter: string,
    toQuarter: string,
  ): Promise<QuarterRow[]> {
    const rows: QuarterRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': counterPk(campaignId, shardId),
            ':from': `q#${fromQuarter}`,
            ':to': `q#${toQuarter}`,
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? [])
        rows.push({
          quarter: (item.sk as string).slice(2),
          counts: counterAttributes(item),
          uniques: storedUniques(item),
        });
      start = out.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  // ---- console (issue 18): the campaign list ----------------------------------------------

  /** Every campaign of the registry (all pages): the sorted list needs each one's sort key. */
  async allCampaigns(): Promise<(CampaignRegistry & { campaignId: string; firstSeen: string })[]> {
    return (await queryPartition(this.db, this.tableName, REGISTRY_PK)).map((i) => ({
      campaignId: i.sk as string,
      shards: [...((i.shards as Set<string>) ?? [])].sort(),
      firstSeen: i.firstSeen as string,
      compactedThrough: i.compactedThrough as string | undefined,
      lateDays: [...((i.lateDays as Set<string> | undefined) ?? [])].sort(),
    }));
  }

  /** The latest quarter-hour of one shard's counters that holds events (one item read). */
  async lastQuarter(campaignId: string, shardId: string): Promise<string | undefined> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)',
        ExpressionAttributeValues: { ':pk': counterPk(campaignId, shardId), ':q': 'q#' },
        ProjectionExpression: 'sk',
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const sk = out.Items?.[0]?.sk as string | undefined;
    return sk?.slice(2);
  }

  /** Exposures and conversions per variant id, summed over the experiment's shards. */
  async experimentCounts(experimentId: string): Promise<Map<string, VariantCounts>> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: EXPERIMENT_REGISTRY_PK, sk: experimentId } }),
    );
    const shards = [...((Item?.shards as Set<string> | undefined) ?? [])].sort();
    const partitions = await Promise.all(
      shards.map((s) =>
        queryPartition(this.db, this.tableName, experimentCounterPk(experimentId, s), VARIANT_SK_PREFIX),
      ),
    );
    const out = new Map<string, VariantCounts>();
    for (const item of partitions.flat()) {
      const variant = (item.sk as string).slice(VARIANT_SK_PREFIX.length);
      const sum = out.get(variant) ?? { exposures: 0, conversions: 0 };
      const counts = variantCounts(item);
      sum.exposures += counts.exposures;
      sum.conversions += counts.conversions;
      out.set(variant, sum);
    }
    return out;
  }

  // experiments v2: every counter of each variant (exposures, conversions, metric sums)
  /** Every counter attribute per variant id, summed over the experiment's shards. */
  async experimentCounters(experimentId: string): Promise<Map<string, Record<string, number>>> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: EXPERIMENT_REGISTRY_PK, sk: experimentId } }),
    );
    const shards = [...((Item?.shards as Set<string> | undefined) ?? [])].sort();
    const partitions = await Promise.all(
      shards.map((s) =>
        queryPartition(this.db, this.tableName, experimentCounterPk(experimentId, s), VARIANT_SK_PREFIX),
      ),
    );
    const out = new Map<string, Record<string, number>>();
    for (const item of partitions.flat()) {
      const variant = (item.sk as string).slice(VARIANT_SK_PREFIX.length);
      const sum = out.get(variant) ?? {};
      // Every number of a variant item is a counter (keys and checkpoint are strings).
      for (const [k, v] of Object.entries(item))
        if (typeof v === 'number') sum[k] = roundAmount((sum[k] ?? 0) + v);
      out.set(variant, sum);
    }
    return out;
  }
}
