/**
 * Person items in the users table: `person#<personKey>` / `stats`. Read in batches, written
 * whole with an optimistic version check (another shard may write the same person after an
 * identity merge), billed by item size — which is why PersonStats stays compact.
 */
import {
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { emptyPerson, type PersonStats } from '../core/person';
import { batchGetAll, isConditionFailed } from './dynamo';
import { settings } from './settings';

const PERSON_PREFIX = 'person#';
const STATS_SK = 'stats';
export const personItemKey = (personKey: string) => ({ pk: `${PERSON_PREFIX}${personKey}`, sk: STATS_SK });

export interface StoredPerson {
  stats: PersonStats;
  /** Optimistic-lock version; 0 when the item does not exist yet. */
  version: number;
}

export interface WriteResult {
  ok: boolean;
  consumed: number;
}

/** Keep personal items this long after a person's last event (TTL; readers ignore expired items). */
export const PERSON_RETENTION_DAYS = settings.retentionDays;

const fromItem = (item: Record<string, unknown>): StoredPerson => ({
  version: item.ver as number,
  stats: {
    personKey: item.personKey as string,
    firstSeen: item.firstSeen as string | undefined,
    lastSeen: item.lastSeen as string | undefined,
    counts: (item.counts as Record<string, number>) ?? {},
    days: (item.days as Record<string, Record<string, number>>) ?? {},
    channels: (item.channels as string[]) ?? [],
    campaigns: (item.campaigns as Record<string, string>) ?? {},
    conversions: (item.conversions as PersonStats['conversions']) ?? { count: 0, value: {} },
    dedup: (item.dedup as Record<string, Uint8Array>) ?? {},
    checkpoints: (item.cp as Record<string, string>) ?? {},
    experiments: (item.experiments as PersonStats['experiments']) ?? {},
    merged: (item.merged as string[]) ?? [],
    ...(item.mergedInto ? { mergedInto: item.mergedInto as string } : {}),
  },
});

export class PeopleRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every person of a batch; expired items (TTL deletes late) count as absent. */
  async load(
    personKeys: readonly string[],
  ): Promise<{ people: Map<string, StoredPerson>; consumed: number }> {
    const { items, consumed } = await batchGetAll(this.db, this.tableName, personKeys.map(personItemKey));
    const nowS = Math.floor(this.now().getTime() / 1000);
    const people = new Map<string, StoredPerson>();
    for (const item of items)
      if (!(typeof item.expiresAt === 'number' && item.expiresAt < nowS))
        people.set(item.personKey as string, fromItem(item));
    for (const key of personKeys)
      if (!people.has(key)) people.set(key, { stats: emptyPerson(key), version: 0 });
    return { people, consumed };
  }

  /** Write a person whole if nobody else wrote it since `version`; ok=false on a lost race. */
  async save(stats: PersonStats, version: number): Promise<WriteResult> {
    const lastSeenMs = stats.lastSeen ? Date.parse(stats.lastSeen) : this.now().getTime();
    try {
      const out = await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...personItemKey(stats.personKey),
            personKey: stats.personKey,
            ver: version + 1,
            firstSeen: stats.firstSeen,
            lastSeen: stats.lastSeen,
            counts: stats.counts,
            days: stats.days,
            channels: stats.channels,
            campaigns: stats.campaigns,
            conversions: stats.conversions,
            dedup: stats.dedup,
            cp: stats.checkpoints,
            experiments: stats.experiments,
            merged: stats.merged,
            mergedInto: stats.mergedInto,
            expiresAt: Math.floor(lastSeenMs / 1000) + PERSON_RETENTION_DAYS * 86_400,
          },
          ConditionExpression: version === 0 ? 'attribute_not_exists(pk)' : 'ver = :v',
          ExpressionAttributeValues: version === 0 ? undefined : { ':v': version },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return { ok: true, consumed: out.ConsumedCapacity?.CapacityUnits ?? 0 };
    } catch (error) {
      if (isConditionFailed(error)) return { ok: false, consumed: 1 };
      throw error;
    }
  }

  /**
   * One page of every person key, from an opaque cursor: the users table also holds identity
   * links, so this is a filtered Scan — for background jobs (backfills), never a request path.
   * With `segment`, one segment of a parallel Scan (each segment has its own cursors).
   */
  async scanPersonKeys(
    cursor: string | undefined,
    limit: number,
    segment?: { segment: number; totalSegments: number },
  ): Promise<{ personKeys: string[]; next?: string }> {
    const out: ScanCommandOutput = await this.db.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ...(segment && { Segment: segment.segment, TotalSegments: segment.totalSegments }),
        FilterExpression: 'sk = :stats AND begins_with(pk, :person)',
        ProjectionExpression: 'personKey',
        ExpressionAttributeValues: { ':stats': STATS_SK, ':person': PERSON_PREFIX },
        ...(cursor !== undefined && { ExclusiveStartKey: JSON.parse(cursor) as Record<string, unknown> }),
      }),
    );
    return {
      personKeys: (out.Items ?? []).flatMap((i) => (typeof i.personKey === 'string' ? [i.personKey] : [])),
      ...(out.LastEvaluatedKey && { next: JSON.stringify(out.LastEvaluatedKey) }),
    };
  }
}
