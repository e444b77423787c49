/**
 * Experiment result counters in the metrics table, written by the stream consumer and read by
 * the results endpoint.
 *
 * Key design (fixed; the consumer writes it):
 * - counters: `x#<experimentId>#<shardId>` / `v#<variantId>` with numeric `exposures` and
 *   `conversions` (distinct persons). Keyed by stream shard like the campaign counters: each
 *   item has one writer, in stream order, and a hot experiment's writes spread over shards.
 * - registry: `experiments` / `<experimentId>` with a String Set `shards`: which shards hold
 *   counters of the experiment, so a read sums exactly those.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { queryPartition } from './dynamo';

export const EXPERIMENT_REGISTRY_PK = 'experiments';
export const experimentCounterPk = (experimentId: string, shardId: string) => `x#${experimentId}#${shardId}`;
export const variantCounterSk = (variantId: string) => `v#${variantId}`;

export interface VariantCounts {
  exposures: number;
  conversions: number;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export class ExperimentResultsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  // ---- read side (results endpoint) -------------------------------------------------------

  /** Shards holding counters of an experiment; empty before its first exposure is counted. */
  async shards(experimentId: string): Promise<string[]> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: EXPERIMENT_REGISTRY_PK, sk: experimentId } }),
    );
    return [...((Item?.shards as Set<string> | undefined) ?? [])].sort();
  }

  /** Exposures and conversions per variant id, summed over the experiment's shards. */
  async counts(experimentId: string): Promise<Map<string, VariantCounts>> {
    const shards = await this.shards(experimentId);
    const partitions = await Promise.all(
      shards.map((s) => queryPartition(this.db, this.tableName, experimentCounterPk(experimentId, s), 'v#')),
    );
    const out = new Map<string, VariantCounts>();
    for (const item of partitions.flat()) {
      const variant = (item.sk as string).slice(2);
      const sum = out.get(variant) ?? { exposures: 0, conversions: 0 };
      sum.exposures += count(item.exposures);
      sum.conversions += count(item.conversions);
      out.set(variant, sum);
    }
    return out;
  }
}
// The write side is the consumer's generic exactly-once counter writer (MetricsRepository.apply
// and register), which builds these same keys from experimentCounterPk / variantCounterSk.
