/**
 * Person items in the users table: `person#<personKey>` / `stats`. Read in batches, written
 * whole with an optimistic version check (another shard may write the same person after an
 * identity merge), billed by item size — which is why PersonStats stays compact.
 *
 * `match#<trait>#<hash>` / `<personKey>`: people by the keyed hash of a `pii: "hash"` trait (an
 * e-mail a CRM matches its contacts on), written by the consumer before the person item (puts and
 * deletes are idempotent, so a retried batch rewrites them), checked against the person item on
 * every lookup (an entry left by a lost race or an expired person matches nobody).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { PersonScore } from '../core/models/definition';
import {
  DEDUP_WINDOW_DAYS,
  type DedupPageRef,
  dict,
  emptyPerson,
  entriesOf,
  type PersonStats,
} from '../core/person';
import { lastTraitWrite, TRAIT_HASH_PREFIX, type TraitEntry } from '../core/traits';
import {
  batchGetAll,
  batchWriteAll,
  deleteExisting,
  deletePartition,
  isConditionFailed,
  queryPartition,
  updateIf,
} from './dynamo';
import { aliasKey, linksPk } from './identity-reader';
import type { PersonalDataStore } from './personal-data';
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

/**
 * Map keys as stored. The SDK's marshalling assigns keys with `map[key] = …`, which turns a
 * `__proto__` key (a campaign id a client may send) into a prototype change and loses it, both
 * ways. So `__proto__` is stored as `__proto__~`, and a key that already looks like that gets
 * one more `~`: a bijection that leaves every other key, and so every stored item, as it is.
 */
const PROTO_LIKE = /^__proto__~*$/;
const ESCAPED = /^__proto__~+$/;
export const storedMapKey = (key: string): string => (PROTO_LIKE.test(key) ? `${key}~` : key);
export const loadedMapKey = (key: string): string => (ESCAPED.test(key) ? key.slice(0, -1) : key);

/**
 * A map as the SDK marshals it: a `Map`, because it tells objects from other values by their
 * `constructor` property, which a map with a `constructor` key (a campaign id) overrides.
 */
const storedMap = <T>(map: Readonly<Record<string, T>>): Map<string, T> =>
  new Map(Object.keys(map).map((key) => [storedMapKey(key), map[key] as T]));
const loadedMap = <T>(map: unknown): Record<string, T> => {
  const out = dict<T>();
  if (map && typeof map === 'object')
    for (const [key, value] of Object.entries(map)) out[loadedMapKey(key)] = value as T;
  return out;
};

const fromItem = (item: Record<string, unknown>): StoredPerson => {
  const conversions = item.conversions as Partial<PersonStats['conversions']> | undefined;
  const days = dict<Record<string, number>>();
  for (const [day, counts] of Object.entries(loadedMap<unknown>(item.days))) days[day] = loadedMap(counts);
  return {
    version: item.ver as number,
    stats: {
      personKey: item.personKey as string,
      firstSeen: item.firstSeen as string | undefined,
      lastSeen: item.lastSeen as string | undefined,
      counts: loadedMap(item.counts),
      days,
      channels: (item.channels as string[]) ?? [],
      campaigns: loadedMap(item.campaigns),
      conversions: { count: conversions?.count ?? 0, value: loadedMap(conversions?.value) },
      dedup: loadedMap(item.dedup),
      dedupPages: (item.dp as DedupPageRef[] | undefined) ?? [],
      checkpoints: loadedMap(item.cp),
      experiments: loadedMap(item.experiments),
      settledExperiments: (item.xs as Uint8Array | undefined) ?? new Uint8Array(),
      merged: (item.merged as string[]) ?? [],
      ...(item.mergedInto ? { mergedInto: item.mergedInto as string } : {}),
      ...(item.folded === true ? { folded: true } : {}),
      ...(item.scores ? { scores: loadedMap<PersonScore>(item.scores) } : {}),
      ...(item.edge ? { edge: item.edge as PersonStats['edge'] } : {}),
      ...(item.traits ? { traits: loadedMap<TraitEntry>(item.traits) } : {}),
    },
  };
};

/** The maps of a person as the item keeps them (storedMapKey on every client-data key). */
const storedMaps = (stats: PersonStats) => {
  const days = new Map<string, Map<string, number>>();
  for (const day of Object.keys(stats.days)) days.set(storedMapKey(day), storedMap(stats.days[day] ?? {}));
  return {
    counts: storedMap(stats.counts),
    days,
    campaigns: storedMap(stats.campaigns),
    conversions: { count: stats.conversions.count, value: storedMap(stats.conversions.value) },
    dedup: storedMap(stats.dedup),
    cp: storedMap(stats.checkpoints),
    experiments: storedMap(stats.experiments),
    ...(stats.traits && Object.keys(stats.traits).length > 0 && { traits: storedMap(stats.traits) }),
  };
};

/**
 * Sealed dedup pages of very active ids: `dedup#<personKey>` / `<lastDay>#<hash>`, written once,
 * whole, never changed (the id is the content's hash), expiring with the dedup window.
 */
const dedupPagePk = (owner: string) => `dedup#${owner}`;
const dedupPageKey = (ref: DedupPageRef) => ({ pk: dedupPagePk(ref.owner), sk: ref.page });
/** Pages outlive the dedup window by a day, then TTL removes them (readers prune by lastDay). */
const DEDUP_PAGE_TTL_DAYS = DEDUP_WINDOW_DAYS + 1;
/** Sealed pages cached per container: a page never changes, and a hot id's batches reuse them. */
const PAGE_CACHE_MAX = 2000;

const MATCH_PREFIX = 'match#';
const matchPk = (trait: string, hash: string) => `${MATCH_PREFIX}${trait}#${hash}`;

/** `trait\0hash` of every hashed value a person holds (lists give one per item). */
const hashedValues = (traits: PersonStats['traits']): Set<string> => {
  const out = new Set<string>();
  for (const [name, entry] of Object.entries(traits ?? {}))
    for (const v of Array.isArray(entry.v) ? entry.v : [entry.v])
      if (typeof v === 'string' && v.startsWith(TRAIT_HASH_PREFIX)) out.add(`${name}\u0000${v}`);
  return out;
};
const matchKey = (pair: string, personKey: string) => {
  const [trait, hash] = pair.split('\u0000') as [string, string];
  return { pk: matchPk(trait, hash), sk: personKey };
};

export class PeopleRepository {
  private readonly pages = new Map<string, Map<string, string>>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
    /** Sealed pages kept in memory per container (tests set it small). */
    private readonly pageCacheMax = PAGE_CACHE_MAX,
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

  /**
   * A lookup of id hash → record tag over these sealed pages (read once per container, then
   * cached: pages never change). Returns the read units used.
   */
  async sealedLookup(
    refs: readonly DedupPageRef[],
  ): Promise<{ lookup: (idHex: string) => string | undefined; consumed: number }> {
    const cacheKey = (owner: string, page: string) => `${owner}\u0000${page}`;
    // This call's pages, whatever the cache evicts meanwhile: a page missed would count a retry.
    const pages = new Map<string, Map<string, string>>();
    for (const r of refs) {
      const hit = this.pages.get(cacheKey(r.owner, r.page));
      if (hit) pages.set(cacheKey(r.owner, r.page), hit);
    }
    const missing = refs.filter((r) => !pages.has(cacheKey(r.owner, r.page)));
    let consumed = 0;
    if (missing.length > 0) {
      const read = await batchGetAll(this.db, this.tableName, missing.map(dedupPageKey));
      consumed = read.consumed;
      if (this.pages.size + read.items.length > this.pageCacheMax) this.pages.clear();
      for (const item of read.items) {
        const key = cacheKey(String(item.pk).slice(dedupPagePk('').length), item.sk as string);
        const entries = entriesOf(loadedMap<Uint8Array>(item.entries));
        pages.set(key, entries);
        this.pages.set(key, entries);
      }
      const lost = missing.filter((r) => !pages.has(cacheKey(r.owner, r.page)));
      // A page the item points at but the table lacks would let retries count twice: fail loudly.
      if (lost.length > 0) throw new Error(`${lost.length} sealed dedup page(s) missing`);
    }
    const maps = [...pages.values()];
    return {
      lookup: (idHex) => {
        for (const m of maps) {
          const tag = m.get(idHex);
          if (tag !== undefined) return tag;
        }
        return undefined;
      },
      consumed,
    };
  }

  /** Write a sealed page (idempotent: same id, same content). Returns write units used. */
  async putDedupPage(ref: DedupPageRef, entries: Record<string, Uint8Array>): Promise<number> {
    const out = await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...dedupPageKey(ref),
          entries: storedMap(entries),
          expiresAt: Math.floor(Date.parse(`${ref.lastDay}T00:00:00Z`) / 1000) + DEDUP_PAGE_TTL_DAYS * 86_400,
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }

  /** Write a person whole if nobody else wrote it since `version`; ok=false on a lost race. */
  async save(stats: PersonStats, version: number): Promise<WriteResult> {
    // Retention runs from the last activity: an event, or a trait set (a CRM's update counts).
    const lastActive = [stats.lastSeen, lastTraitWrite(stats.traits)]
      .filter((t) => t !== undefined)
      .sort()
      .pop();
    const lastSeenMs = lastActive ? Date.parse(lastActive) : this.now().getTime();
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
            ...storedMaps(stats),
            channels: stats.channels,
            dp: stats.dedupPages,
            ...(stats.settledExperiments.byteLength > 0 && { xs: stats.settledExperiments }),
            merged: stats.merged,
            mergedInto: stats.mergedInto,
            folded: stats.folded,
            scores: stats.scores && storedMap(stats.scores),
            edge: stats.edge,
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

  // ---- predictions (docs/models.md): whole persons for feature extraction, and their scores ----

  /**
   * One page of whole person items (one segment of a parallel Scan): what model runs extract
   * features from. Background jobs only, never a request path.
   */
  async scanPersons(
    cursor: string | undefined,
    limit: number,
    segment: { segment: number; totalSegments: number },
  ): Promise<{ people: StoredPerson[]; next?: string; consumed: number }> {
    const out: ScanCommandOutput = await this.db.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        Segment: segment.segment,
        TotalSegments: segment.totalSegments,
        FilterExpression: 'sk = :stats AND begins_with(pk, :person)',
        ExpressionAttributeValues: { ':stats': STATS_SK, ':person': PERSON_PREFIX },
        ReturnConsumedCapacity: 'TOTAL',
        ...(cursor !== undefined && { ExclusiveStartKey: JSON.parse(cursor) as Record<string, unknown> }),
      }),
    );
    const nowS = Math.floor(this.now().getTime() / 1000);
    return {
      people: (out.Items ?? [])
        .filter((i) => !(typeof i.expiresAt === 'number' && i.expiresAt < nowS))
        .map(fromItem),
      ...(out.LastEvaluatedKey && { next: JSON.stringify(out.LastEvaluatedKey) }),
      consumed: out.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  }

  /**
   * Replace a person's scores (none: remove them) if the item is still at `version`; the version
   * moves on, so a consumer that loaded the person before reloads it rather than write old scores
   * back. false: the item changed (or is gone) meanwhile.
   */
  async saveScores(
    personKey: string,
    scores: Record<string, PersonScore> | undefined,
    version: number,
  ): Promise<boolean> {
    const empty = !scores || Object.keys(scores).length === 0;
    const out = await updateIf(this.db, {
      TableName: this.tableName,
      Key: personItemKey(personKey),
      UpdateExpression: empty ? 'REMOVE scores SET ver = :next' : 'SET scores = :s, ver = :next',
      ConditionExpression: 'ver = :v',
      ExpressionAttributeValues: {
        ':v': version,
        ':next': version + 1,
        ...(!empty && { ':s': storedMap(scores) }),
      },
    });
    return out !== undefined;
  }

  /**
   * Remove every score from a person (withdrawal of personalisation); the version moves on, so a
   * consumer holding the person reloads it rather than write the scores back. false: none held.
   */
  async clearScores(personKey: string): Promise<boolean> {
    const out = await updateIf(this.db, {
      TableName: this.tableName,
      Key: personItemKey(personKey),
      UpdateExpression: 'REMOVE scores SET ver = ver + :one',
      ConditionExpression: 'attribute_exists(scores)',
      ExpressionAttributeValues: { ':one': 1 },
    });
    return out !== undefined;
  }

  /**
   * Keep the match entries of a person's hashed traits in step with `next` (written before the
   * person item: see the header). Returns write units used.
   */
  async updateMatches(personKey: string, before: PersonStats, next: PersonStats): Promise<number> {
    const was = hashedValues(before.traits);
    const now = hashedValues(next.traits);
    const writes = [
      ...[...was].filter((p) => !now.has(p)).map((p) => ({ DeleteRequest: { Key: matchKey(p, personKey) } })),
      ...[...now]
        .filter((p) => !was.has(p))
        .map((p) => ({ PutRequest: { Item: { ...matchKey(p, personKey), personKey } } })),
    ];
    if (writes.length === 0) return 0;
    await batchWriteAll(this.db, this.tableName, writes);
    return writes.length;
  }

  /** The people whose hashed trait holds this hash now (entries are checked against the person). */
  async findByMatch(trait: string, hash: string): Promise<string[]> {
    const keys = (await queryPartition(this.db, this.tableName, matchPk(trait, hash))).map(
      (i) => i.sk as string,
    );
    if (keys.length === 0) return [];
    const pair = `${trait}\u0000${hash}`;
    const { people } = await this.load(keys);
    // A profile merged since: its user holds the trait now (the merge moves traits over).
    const users = [...people.values()].flatMap((p) => (p.stats.mergedInto ? [p.stats.mergedInto] : []));
    const merged = users.length > 0 ? (await this.load(users)).people : new Map<string, StoredPerson>();
    const found = new Set<string>();
    for (const p of people.values()) {
      const holder = p.stats.mergedInto ? merged.get(p.stats.mergedInto) : p;
      if (
        holder &&
        holder.version > 0 &&
        !holder.stats.mergedInto &&
        hashedValues(holder.stats.traits).has(pair)
      )
        found.add(holder.stats.personKey);
    }
    return [...found];
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

/**
 * A person's profile in the users table: the person item (stats, dedup state, exposure state),
 * the identity link the id is the anonymous side of, and the links of a user.
 */
export class ProfilePersonalData implements PersonalDataStore {
  readonly name = 'profile';
  readonly tables = ['users'] as const;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly usersTable: string,
  ) {}

  async export(ids: readonly string[]): Promise<unknown[]> {
    const items = await Promise.all(
      ids.flatMap((id) =>
        [personItemKey(id), aliasKey(id)].map((key) =>
          this.db.send(new GetCommand({ TableName: this.usersTable, Key: key })),
        ),
      ),
    );
    const [links, pages] = await Promise.all([
      Promise.all(ids.map((id) => queryPartition(this.db, this.usersTable, linksPk(id)))),
      Promise.all(ids.map((id) => queryPartition(this.db, this.usersTable, dedupPagePk(id)))),
    ]);
    const persons = items.flatMap((r) => (r.Item ? [r.Item] : []));
    const matches = await Promise.all(
      persons.flatMap((p) =>
        this.matchKeysOf(p).map((key) =>
          this.db.send(new GetCommand({ TableName: this.usersTable, Key: key })),
        ),
      ),
    );
    return [
      ...persons,
      ...links.flat(),
      ...pages.flat(),
      ...matches.flatMap((r) => (r.Item ? [r.Item] : [])),
    ];
  }

  private matchKeysOf(person: Record<string, unknown>) {
    const personKey = person.personKey as string;
    return [...hashedValues(fromItem(person).stats.traits)].map((p) => matchKey(p, personKey));
  }

  async erase(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of ids) {
      // The match entries of the person's hashed traits first: the person item says which they are.
      const { Item: person } = await this.db.send(
        new GetCommand({ TableName: this.usersTable, Key: personItemKey(id), ConsistentRead: true }),
      );
      for (const key of [...(person ? this.matchKeysOf(person) : []), personItemKey(id), aliasKey(id)])
        if (await deleteExisting(this.db, this.usersTable, key)) n++;
      n += await deletePartition(this.db, this.usersTable, linksPk(id));
      // Sealed dedup pages: hashes of the person's event ids.
      n += await deletePartition(this.db, this.usersTable, dedupPagePk(id));
    }
    return n;
  }
}
