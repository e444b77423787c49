/**
 * Reading identity links (the consumer writes them; see identity-repository.ts) in the users table:
 *
 *   alias#<anonymousId> / link          → { anonymousId, userId, linkedAt }
 *   links#<userId> / <anonymousId>      → { anonymousId, linkedAt }
 *
 * An id with an alias item resolves to its user; any other id is its own person. Links are
 * never changed once made, so resolutions are cached per container (an erased link only
 * matters to the erased person, whom no listing shows any more).
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, queryPartition } from './dynamo';

/** The one definition of the identity keys: readers here, the consumer's writer, erasure. */
export const aliasKey = (anonymousId: string) => ({ pk: `alias#${anonymousId}`, sk: 'link' });
export const linksPk = (userId: string) => `links#${userId}`;

export interface LinkedId {
  anonymousId: string;
  linkedAt: string;
}

const CACHE_MAX = 10_000;

export class IdentityReader {
  private readonly cache = new Map<string, string>();

  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly usersTable: string,
  ) {}

  /** The person an id names: its user when it is a linked anonymous id, else the id itself. */
  async resolvePerson(id: string): Promise<string> {
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.usersTable, Key: aliasKey(id), ConsistentRead: true }),
    );
    const userId = typeof Item?.userId === 'string' ? Item.userId : undefined;
    if (userId !== undefined) this.remember(id, userId);
    return userId ?? id;
  }

  /** Which of these ids are linked anonymous ids, and to whom (unlinked ids are absent). */
  async resolveMany(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const missing = ids.filter((id) => {
      const hit = this.cache.get(id);
      if (hit !== undefined) out.set(id, hit);
      return hit === undefined;
    });
    if (missing.length > 0) {
      const { items } = await batchGetAll(this.db, this.usersTable, missing.map(aliasKey));
      for (const item of items)
        if (typeof item.anonymousId === 'string' && typeof item.userId === 'string') {
          out.set(item.anonymousId, item.userId);
          this.remember(item.anonymousId, item.userId);
        }
    }
    return out;
  }

  /** The anonymous ids linked to a user. */
  async linkedIds(userId: string): Promise<LinkedId[]> {
    const items = await queryPartition(this.db, this.usersTable, linksPk(userId));
    return items.map((i) => ({
      anonymousId: String(i.anonymousId ?? i.sk),
      linkedAt: String(i.linkedAt ?? ''),
    }));
  }

  protected remember(id: string, userId: string) {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(id, userId);
  }
}
