/**
 * Identity links in the users table:
 *
 *   alias#<anonymousId> / link          → { anonymousId, userId, linkedAt }   (first link wins)
 *   links#<userId> / <anonymousId>      → { anonymousId, linkedAt }           (the user's ids)
 *
 * and the exactly-once merge of an anonymous profile into its user's: the anonymous item is
 * frozen first (`mergedInto`), then folded into the user's item, which records the merge
 * (`merged`); each step is version-checked and skipped when already done, so a retried
 * identify, a redelivery or two concurrent identifies of the same ids merge once.
 * Assignments of experiments move with it (the experiments repository's carryAssignments).
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mergeProfiles, type PersonStats } from '../core/person';
import { isConditionFailed } from './dynamo';
import type { ExperimentsRepository } from './experiments-repository';
import { aliasKey, IdentityReader, type LinkedId, linksPk } from './identity-reader';
import type { PeopleRepository } from './people-repository';

export type LinkOutcome = 'linked' | 'conflict' | 'self';

/** What a link did, and the user it linked to (the root: a linked user id resolves to its user). */
export interface Link {
  outcome: LinkOutcome;
  userId: string;
}

/** The identity reader plus what only the consumer does: linking ids and merging profiles. */
/**
 * How long the consumer trusts a person's linked ids. It reads them for every person of every
 * batch (consent follows the person); links only grow, and those this container makes it adds at
 * once, so the cache only delays seeing a link another shard's container made — by at most this.
 */
const LINKED_IDS_TTL_MS = 30_000;
const LINKED_IDS_MAX = 10_000;

export class IdentityRepository extends IdentityReader {
  private readonly linkedCache = new Map<string, { ids: LinkedId[]; until: number }>();

  constructor(
    db: DynamoDBDocumentClient,
    usersTable: string,
    private readonly experiments: ExperimentsRepository,
  ) {
    super(db, usersTable);
  }

  /** The anonymous ids linked to a user, cached briefly (see LINKED_IDS_TTL_MS). */
  override async linkedIds(userId: string): Promise<LinkedId[]> {
    const now = Date.now();
    const hit = this.linkedCache.get(userId);
    if (hit && hit.until > now) return hit.ids;
    const ids = await super.linkedIds(userId);
    if (this.linkedCache.size >= LINKED_IDS_MAX) this.linkedCache.clear();
    this.linkedCache.set(userId, { ids, until: now + LINKED_IDS_TTL_MS });
    return ids;
  }

  /** Record anonymousId → userId. A second, different user for the same id is refused. */
  async link(anonymousId: string, userId: string, at: string): Promise<Link> {
    if (anonymousId === userId) return { outcome: 'self', userId };
    // The target must be a root: a user id that is itself linked resolves to its user.
    const root = await this.resolvePerson(userId);
    if (root === anonymousId) return { outcome: 'self', userId: root };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.usersTable,
          Item: { ...aliasKey(anonymousId), anonymousId, userId: root, linkedAt: at },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const existing = (await this.resolveMany([anonymousId])).get(anonymousId);
      if (existing !== root) return { outcome: 'conflict', userId: root };
      // Already linked to this user: finish the steps below in case a crash interrupted them.
    }
    await this.db.send(
      new PutCommand({
        TableName: this.usersTable,
        Item: { pk: linksPk(root), sk: anonymousId, anonymousId, linkedAt: at },
      }),
    );
    this.remember(anonymousId, root);
    const cached = this.linkedCache.get(root);
    if (cached && !cached.ids.some((l) => l.anonymousId === anonymousId))
      cached.ids.push({ anonymousId, linkedAt: at });
    return { outcome: 'linked', userId: root };
  }

  /**
   * Merge the anonymous profile into the user's, once. Returns the write units used and the
   * frozen anonymous profile (undefined when the id never had events).
   */
  async merge(
    anonymousId: string,
    userId: string,
    people: PeopleRepository,
    now: Date,
  ): Promise<{ consumed: number; frozen: PersonStats | undefined }> {
    let consumed = 0;
    let frozen: PersonStats | undefined;
    let done = false;
    for (let attempt = 0; attempt < 8 && !done; attempt++) {
      const { people: loaded } = await people.load([anonymousId, userId]);
      const anon = loaded.get(anonymousId);
      const user = loaded.get(userId);
      if (!anon || !user) throw new Error('load returned no item');
      frozen = anon.version > 0 ? anon.stats : undefined;
      // Nothing to merge for an id that never had events.
      if (anon.version === 0) {
        done = true;
        break;
      }
      // 1. freeze the anonymous profile; reload: the frozen snapshot is what gets merged
      if (anon.stats.mergedInto !== userId) {
        consumed += (await people.save({ ...anon.stats, mergedInto: userId }, anon.version)).consumed;
        continue;
      }
      // 2. fold it into the user's profile, once (`merged` remembers it until step 3 is done)
      if (!anon.stats.folded && !user.stats.merged.includes(anonymousId)) {
        consumed += (await people.save(mergeProfiles(user.stats, anon.stats, now), user.version)).consumed;
        continue;
      }
      // 3. the anonymous profile says it is folded ...
      if (!anon.stats.folded) {
        consumed += (await people.save({ ...anon.stats, folded: true }, anon.version)).consumed;
        continue;
      }
      // 4. ... so the user need not remember it: `merged` stays as short as the merges in progress.
      if (user.stats.merged.includes(anonymousId)) {
        const merged = user.stats.merged.filter((id) => id !== anonymousId);
        consumed += (await people.save({ ...user.stats, merged }, user.version)).consumed;
        continue;
      }
      done = true;
    }
    if (!done) throw new Error(`merge of an anonymous profile kept meeting concurrent writes (8 attempts)`);
    await this.experiments.carryAssignments(anonymousId, userId);
    return { consumed, frozen };
  }
}
