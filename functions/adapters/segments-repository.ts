/**
 * Segments as analysts list them, in the tags table (key design: tags-table.ts): the registry
 * of tags in use (`segments / <tag>`) and the members of each tag's segment (`segment#<tag>`).
 * Sizes are read from the counters segment-sizes.ts keeps where memberships change (a few small
 * items per tag, whatever its size); `countMembers` counts the membership partition instead.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { TagSource } from '../core/tags';
import { type Item, putIf, queryPage } from './dynamo';
import { decodeCursor, encodeCursor, type Page } from './pagination';
import type { SegmentSizes } from './segment-sizes';
import { REGISTRY_PK, segmentPk } from './tags-table';

export interface SegmentMember {
  userId: string;
  sources: TagSource[];
}

export class SegmentsRepository {
  /** Tags known to be in the registry (per container): registering is a write, once per tag. */
  private readonly registered = new Set<string>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sizes: SegmentSizes,
  ) {}

  /** Record that a tag is in use (segment listings walk this registry). */
  async register(tag: string, at: string): Promise<void> {
    if (this.registered.has(tag)) return;
    await putIf(this.db, {
      TableName: this.tableName,
      Item: { pk: REGISTRY_PK, sk: tag, tag, createdAt: at },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    this.registered.add(tag);
  }

  /** Members of a tag's segment, from its size counter. */
  async segmentSize(tag: string): Promise<number> {
    return (await this.sizes.sizes([tag])).get(tag) ?? 0;
  }

  /** Members of a tag's segment, counted over its membership partition (a read per member). */
  async countMembers(tag: string): Promise<number> {
    let size = 0;
    let start: Item | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          // A membership a crash left without sources is no member.
          FilterExpression: 'attribute_exists(sources)',
          ExpressionAttributeValues: { ':pk': segmentPk(tag) },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      size += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return size;
  }

  /** Tags in use, each with its size. */
  async segmentsPage(limit: number, cursor?: string): Promise<Page<{ tag: string; size: number }>> {
    const page = await queryPage(this.db, this.tableName, REGISTRY_PK, limit, cursor);
    const tags = page.items.map((i) => i.tag as string);
    const sizes = await this.sizes.sizes(tags);
    return { ...page, items: tags.map((tag) => ({ tag, size: sizes.get(tag) ?? 0 })) };
  }

  async segmentExists(tag: string): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: REGISTRY_PK, sk: tag } }),
    );
    return Item !== undefined;
  }

  /** A page of a segment's members with the sources that put each one there. */
  async segmentMembers(tag: string, limit: number, cursor?: string): Promise<Page<SegmentMember>> {
    const items: SegmentMember[] = [];
    let start = decodeCursor(cursor, segmentPk(tag));
    // The filter may drop a source-less membership from a page: read on until the page is full.
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_exists(sources)',
          ExpressionAttributeValues: { ':pk': segmentPk(tag) },
          Limit: limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? [])
        items.push({ userId: i.sk as string, sources: [...(i.sources as Set<TagSource>)].sort() });
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return { items, ...(start && { nextCursor: encodeCursor(start) }) };
  }
}
