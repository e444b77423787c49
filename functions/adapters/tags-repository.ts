/**
 * Tags, segment memberships, segment rules and their jobs, in the tags table:
 *
 *   person#<personKey> / tag#<tag>#<source>   { tag, source, setAt, personKey, m? }   a person's tag
 *   person#<personKey> / check#<ruleId>       { ruleId, personKey, checkShard, nextCheck }
 *   segment#<tag> / <personKey>               { sources: String Set }                  membership
 *   segments / <tag>                          { tag, createdAt }                       tags ever used
 *   rules / <ruleId>                          { ruleId, tag, when, hash, ... }
 *   backfill / <ruleId>                       { ruleId, jobId, cursor?, status, ... }
 *
 * A check item exists only while a rule's outcome for a person would change with time alone; it
 * carries the keys of the sparse `byNextCheck` index, so the sweep finds what is due by a query.
 *
 * Memberships and tag items are kept consistent without transactions (dynalite has none): a
 * tag item is written first and confirmed (`m`) only once its membership source is in place;
 * it is unconfirmed before its source leaves the membership and deleted after. So a confirmed
 * tag item means the membership holds its source, and no tag item means it does not: the next
 * apply repairs whatever a crash left between the two writes. Segment sizes are counted on read
 * over the membership partition (exact, whatever order writes land in).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/tables';
import { type RuleBody, type RuleOutcome, ruleHash, type SegmentRule } from '../core/rules';
import {
  MAX_MANUAL_TAGS,
  type PersonTag,
  ruleSource,
  sortTags,
  type TagSource,
  tooManyTags,
} from '../core/tags';
import {
  batchGetAll,
  deletePartition,
  type Item,
  isConditionFailed,
  queryPage,
  queryPartition,
  updateIf,
} from './dynamo';
import { decodeCursor, encodeCursor, type Page } from './pagination';

/** Shards of the `byNextCheck` index: the sweep queries each; a hash of the person picks one. */
export const CHECK_SHARDS = 8;
export const NEXT_CHECK_INDEX = tables.tags.indexes[0].name;

export const checkShardOf = (personKey: string): string =>
  `s${createHash('sha256').update(personKey).digest().readUInt32BE(0) % CHECK_SHARDS}`;

const personPk = (personKey: string) => `person#${personKey}`;
const tagSk = (tag: string, source: string) => `tag#${tag}#${source}`;
const checkSk = (ruleId: string) => `check#${ruleId}`;
const segmentPk = (tag: string) => `segment#${tag}`;
const REGISTRY_PK = 'segments';
const RULES_PK = 'rules';
const BACKFILL_PK = 'backfill';

/** A rule as stored: the definition and what tracks its changes. */
export interface StoredRule extends SegmentRule {
  hash: string;
  createdAt: string;
  updatedAt: string;
}

export type BackfillStatus = 'pending' | 'running' | 'done';

export interface BackfillJob {
  ruleId: string;
  /** A new job per rule change: an older run's progress never lands on a newer job. */
  jobId: string;
  ruleHash: string;
  /** ExclusiveStartKey of the next users-table page (JSON), absent at the start and at the end. */
  cursor?: string;
  status: BackfillStatus;
  /** Persons evaluated so far. */
  processed: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** One segment of a backfill's parallel Scan: its cursor (absent at the start), or done. */
export interface ScanSegment {
  segment: number;
  cursor?: string;
  done: boolean;
}

/** Segment cursors as stored: these two markers, or a users-table page's key as JSON. */
const SEGMENT_START = 'start';
const SEGMENT_DONE = 'done';

const scanSegments = (stored: unknown): ScanSegment[] =>
  Object.entries((stored ?? {}) as Record<string, string>)
    .map(([segment, cursor]) => ({
      segment: Number(segment),
      ...(cursor !== SEGMENT_START && cursor !== SEGMENT_DONE && { cursor }),
      done: cursor === SEGMENT_DONE,
    }))
    .sort((a, b) => a.segment - b.segment);

export interface SegmentMember {
  userId: string;
  sources: TagSource[];
}

export interface DueCheck {
  personKey: string;
  ruleId: string;
  nextCheck: string;
}

interface StoredTag extends PersonTag {
  /** Confirmed: the membership holds this source. */
  confirmed: boolean;
}

interface PersonState {
  tags: StoredTag[];
  /** ruleId → nextCheck. */
  checks: Map<string, string>;
}

export interface ApplyResult {
  added: number;
  removed: number;
  checksWritten: number;
}

const toTag = (item: Item): StoredTag => ({
  tag: item.tag as string,
  source: item.source as TagSource,
  setAt: item.setAt as string,
  confirmed: item.m === true,
});

const publicTag = ({ tag, source, setAt }: StoredTag): PersonTag => ({ tag, source, setAt });

const toRule = (item: Item): StoredRule => ({
  ruleId: item.ruleId as string,
  tag: item.tag as string,
  when: item.when as SegmentRule['when'],
  ...(typeof item.description === 'string' && { description: item.description }),
  hash: item.hash as string,
  createdAt: item.createdAt as string,
  updatedAt: item.updatedAt as string,
});

const toJob = (item: Item): BackfillJob => ({
  ruleId: item.ruleId as string,
  jobId: item.jobId as string,
  ruleHash: item.ruleHash as string,
  ...(typeof item.cursor === 'string' && { cursor: item.cursor }),
  status: item.status as BackfillStatus,
  processed: (item.processed as number) ?? 0,
  startedAt: item.startedAt as string,
  updatedAt: item.updatedAt as string,
  ...(typeof item.finishedAt === 'string' && { finishedAt: item.finishedAt }),
});

/** A cursor of ours for this partition; anything else is the client's 400, never DynamoDB's 500. */
/** Runs tasks a few at a time: one person's writes are few, and DynamoDB likes them spread. */
const inBatches = async <T>(items: readonly T[], run: (item: T) => Promise<void>, width = 8) => {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
};

export class TagsRepository {
  /** Tags known to be in the registry (per container): registering is a write, once per tag. */
  private readonly registered = new Set<string>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  // -------------------------------------------------------------------------------------------
  // A person's tags

  private async personState(personKey: string): Promise<PersonState> {
    const items = await queryPartition(this.db, this.tableName, personPk(personKey));
    const state: PersonState = { tags: [], checks: new Map() };
    for (const item of items) {
      const sk = String(item.sk);
      if (sk.startsWith('tag#')) state.tags.push(toTag(item));
      else if (sk.startsWith('check#') && typeof item.nextCheck === 'string')
        state.checks.set(item.ruleId as string, item.nextCheck);
    }
    return state;
  }

  /** Every tag of a person, each with its source and when that source set it. */
  async personTags(personKey: string): Promise<PersonTag[]> {
    const items = await queryPartition(this.db, this.tableName, personPk(personKey), 'tag#');
    return sortTags(items.map(toTag).map(publicTag));
  }

  /** Replace the manual tags; rule and model tags stay as they are. Answers every tag. */
  async replaceManualTags(personKey: string, tags: readonly string[], now: Date): Promise<PersonTag[]> {
    const wanted = new Set(tags);
    if (wanted.size > MAX_MANUAL_TAGS) throw tooManyTags('manualTags', wanted.size);
    const state = await this.personState(personKey);
    const manual = state.tags.filter((t) => t.source === 'manual');
    const at = now.toISOString();
    await inBatches(
      manual.filter((t) => !wanted.has(t.tag)),
      (t) => this.removeTag(personKey, t.tag, 'manual'),
    );
    await inBatches([...wanted], async (tag) => {
      const current = manual.find((t) => t.tag === tag);
      if (!current?.confirmed) await this.addTag(personKey, tag, 'manual', at, current !== undefined);
    });
    return this.personTags(personKey);
  }

  /** Add manual tags (those already set keep their time). Answers every tag. */
  async addManualTags(personKey: string, tags: readonly string[], now: Date): Promise<PersonTag[]> {
    const state = await this.personState(personKey);
    const manual = new Map(state.tags.filter((t) => t.source === 'manual').map((t) => [t.tag, t]));
    const total = new Set([...manual.keys(), ...tags]).size;
    if (total > MAX_MANUAL_TAGS) throw tooManyTags('manualTags', total);
    const at = now.toISOString();
    await inBatches([...new Set(tags)], async (tag) => {
      const current = manual.get(tag);
      if (!current?.confirmed) await this.addTag(personKey, tag, 'manual', at, current !== undefined);
    });
    return this.personTags(personKey);
  }

  /** Remove a manual tag (idempotent); the same tag from a rule or model stays. */
  async removeManualTag(personKey: string, tag: string): Promise<PersonTag[]> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: personPk(personKey), sk: tagSk(tag, 'manual') },
      }),
    );
    if (Item) await this.removeTag(personKey, tag, 'manual');
    return this.personTags(personKey);
  }

  // -------------------------------------------------------------------------------------------
  // Rule outcomes

  /**
   * Bring a person's rule tags, memberships and time checks in line with these outcomes, as
   * sets: applying the same outcomes again writes nothing. One read of the person's items,
   * then only the writes that differ. A rule whose tag changed loses its old tag here.
   */
  async applyRuleOutcomes(
    personKey: string,
    outcomes: readonly RuleOutcome[],
    now: Date,
  ): Promise<ApplyResult> {
    const result: ApplyResult = { added: 0, removed: 0, checksWritten: 0 };
    if (outcomes.length === 0) return result;
    const state = await this.personState(personKey);
    const at = now.toISOString();
    // The last outcome of a rule wins, should a caller pass one twice.
    const byRule = new Map(outcomes.map((o) => [o.rule.ruleId, o]));
    const writes: (() => Promise<void>)[] = [];
    for (const { rule, holds, nextCheck } of byRule.values()) {
      const source = ruleSource(rule.ruleId);
      const mine = state.tags.filter((t) => t.source === source);
      for (const t of mine)
        if (!holds || t.tag !== rule.tag) {
          writes.push(() => this.removeTag(personKey, t.tag, source));
          result.removed++;
        }
      const current = mine.find((t) => t.tag === rule.tag);
      if (holds && !current?.confirmed) {
        writes.push(() => this.addTag(personKey, rule.tag, source, at, current !== undefined));
        result.added++;
      }
      const stored = state.checks.get(rule.ruleId);
      if (nextCheck !== stored) {
        writes.push(() => this.setCheck(personKey, rule.ruleId, nextCheck));
        result.checksWritten++;
      }
    }
    await inBatches(writes, (w) => w());
    return result;
  }

  private async setCheck(personKey: string, ruleId: string, nextCheck: string | undefined): Promise<void> {
    const key = { pk: personPk(personKey), sk: checkSk(ruleId) };
    if (nextCheck === undefined) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
      return;
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key, ruleId, personKey, checkShard: checkShardOf(personKey), nextCheck },
      }),
    );
  }

  /** Checks due by `now` in one shard of the index, a page at a time. */
  async dueChecks(
    shard: string,
    now: Date,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ items: DueCheck[]; lastKey?: Record<string, unknown> }> {
    const out: QueryCommandOutput = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: NEXT_CHECK_INDEX,
        KeyConditionExpression: 'checkShard = :s AND nextCheck <= :now',
        ExpressionAttributeValues: { ':s': shard, ':now': now.toISOString() },
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (out.Items ?? []).map((i) => ({
        personKey: i.personKey as string,
        ruleId: i.ruleId as string,
        nextCheck: i.nextCheck as string,
      })),
      ...(out.LastEvaluatedKey && { lastKey: out.LastEvaluatedKey }),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Tag items and memberships

  /** Tag item, then membership source, then confirmation (see the file comment). */
  private async addTag(personKey: string, tag: string, source: string, at: string, itemExists: boolean) {
    const Key = { pk: personPk(personKey), sk: tagSk(tag, source) };
    if (!itemExists)
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET tag = :t, #source = :s, personKey = :p, setAt = if_not_exists(setAt, :at)',
          ExpressionAttributeNames: { '#source': 'source' },
          ExpressionAttributeValues: { ':t': tag, ':s': source, ':p': personKey, ':at': at },
        }),
      );
    await this.register(tag, at);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: segmentPk(tag), sk: personKey },
        UpdateExpression: 'ADD sources :s',
        ExpressionAttributeValues: { ':s': new Set([source]) },
      }),
    );
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET m = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // Removed meanwhile by a later decision: no tag item, so no membership source either.
      await this.removeSource(tag, personKey, source);
    }
  }

  /** Unconfirm, take the source out of the membership, then delete the tag item. */
  private async removeTag(personKey: string, tag: string, source: string) {
    const Key = { pk: personPk(personKey), sk: tagSk(tag, source) };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'REMOVE m',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    await this.removeSource(tag, personKey, source);
    try {
      await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key, ConditionExpression: 'attribute_not_exists(m)' }),
      );
    } catch (error) {
      // Added back and confirmed meanwhile by a later decision: it stands.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Take one source out of a membership; the membership goes with its last source. */
  private async removeSource(tag: string, personKey: string, source: string) {
    const Key = { pk: segmentPk(tag), sk: personKey };
    let left: Item | undefined;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'DELETE sources :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':s': new Set([source]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      left = out.Attributes;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return;
    }
    if (left?.sources !== undefined) return;
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key,
          ConditionExpression: 'attribute_not_exists(sources)',
        }),
      );
    } catch (error) {
      // A source arrived meanwhile: the membership stays.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Record that a tag is in use (segment listings walk this registry). */
  async register(tag: string, at: string): Promise<void> {
    if (this.registered.has(tag)) return;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: REGISTRY_PK, sk: tag, tag, createdAt: at },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    this.registered.add(tag);
  }

  // -------------------------------------------------------------------------------------------
  // Segments

  /** Members of a tag's segment, exactly: memberships are counted, not kept as a counter. */
  async segmentSize(tag: string): Promise<number> {
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
    const sizes = await Promise.all(tags.map((t) => this.segmentSize(t)));
    return { ...page, items: tags.map((tag, i) => ({ tag, size: sizes[i] as number })) };
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

  // -------------------------------------------------------------------------------------------
  // Rules and their backfill jobs

  async listRules(): Promise<StoredRule[]> {
    return (await queryPartition(this.db, this.tableName, RULES_PK)).map(toRule);
  }

  async rulesPage(limit: number, cursor?: string): Promise<Page<StoredRule>> {
    const page = await queryPage(this.db, this.tableName, RULES_PK, limit, cursor);
    return { ...page, items: page.items.map(toRule) };
  }

  async getRule(ruleId: string): Promise<StoredRule | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: RULES_PK, sk: ruleId }, ConsistentRead: true }),
    );
    return Item ? toRule(Item) : undefined;
  }

  /**
   * Create or replace a rule. `changed` when what it decides (tag or condition) differs from
   * before: the caller then starts a backfill. A description alone changes nothing else.
   */
  async putRule(
    ruleId: string,
    body: RuleBody,
    now: Date,
  ): Promise<{ rule: StoredRule; created: boolean; changed: boolean }> {
    const existing = await this.getRule(ruleId);
    const hash = ruleHash(body);
    const at = now.toISOString();
    await this.register(body.tag, at);
    if (existing && existing.hash === hash && existing.description === body.description)
      return { rule: existing, created: false, changed: false };
    const rule: StoredRule = {
      ruleId,
      tag: body.tag,
      when: body.when,
      ...(body.description !== undefined && { description: body.description }),
      hash,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: RULES_PK, sk: ruleId, ...rule } }),
    );
    return { rule, created: !existing, changed: existing?.hash !== hash };
  }

  /** A fresh backfill job for a rule, replacing any job of an earlier version. */
  async startBackfill(ruleId: string, hash: string, now: Date): Promise<BackfillJob> {
    const at = now.toISOString();
    const job: BackfillJob = {
      ruleId,
      jobId: randomBytes(8).toString('hex'),
      ruleHash: hash,
      status: 'pending',
      processed: 0,
      startedAt: at,
      updatedAt: at,
    };
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: BACKFILL_PK, sk: ruleId, ...job } }),
    );
    return job;
  }

  /** Jobs not done yet. */
  async openBackfills(): Promise<BackfillJob[]> {
    return (await queryPartition(this.db, this.tableName, BACKFILL_PK))
      .map(toJob)
      .filter((j) => j.status !== 'done');
  }

  async backfills(ruleIds: readonly string[]): Promise<Map<string, BackfillJob>> {
    const { items } = await batchGetAll(
      this.db,
      this.tableName,
      ruleIds.map((id) => ({ pk: BACKFILL_PK, sk: id })),
    );
    return new Map(items.map((i) => [i.ruleId as string, toJob(i)]));
  }

  /**
   * Record a job's progress from `job.cursor` to `next` (undefined: done). Conditional on the
   * job and cursor it started from, so two overlapping runs never both advance it, and a run
   * of a replaced job stops. False when someone else moved it.
   */
  async advanceBackfill(
    job: BackfillJob,
    next: string | undefined,
    processed: number,
    now: Date,
  ): Promise<boolean> {
    const done = next === undefined;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: BACKFILL_PK, sk: job.ruleId },
          UpdateExpression: `SET #status = :status, #processed = #processed + :n, updatedAt = :at${
            done ? ', finishedAt = :at REMOVE #cursor' : ', #cursor = :next'
          }`,
          ConditionExpression: `jobId = :job AND ${
            job.cursor === undefined ? 'attribute_not_exists(#cursor)' : '#cursor = :prev'
          }`,
          ExpressionAttributeNames: { '#status': 'status', '#cursor': 'cursor', '#processed': 'processed' },
          ExpressionAttributeValues: {
            ':status': done ? 'done' : 'running',
            ':n': processed,
            ':at': now.toISOString(),
            ':job': job.jobId,
            ...(!done && { ':next': next }),
            ...(job.cursor !== undefined && { ':prev': job.cursor }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * The job's parallel-scan segments and where each stands, opening them (all at the start) on
   * the first call: `segments` on the job item maps a segment number to its cursor. undefined
   * when the job was replaced by a newer one.
   */
  async openBackfillSegments(
    job: BackfillJob,
    totalSegments: number,
    now: Date,
  ): Promise<ScanSegment[] | undefined> {
    const fresh = Object.fromEntries(
      Array.from({ length: totalSegments }, (_, s) => [String(s), SEGMENT_START]),
    );
    const item = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression: 'SET #segments = if_not_exists(#segments, :fresh), updatedAt = :at',
      ConditionExpression: 'jobId = :job',
      ExpressionAttributeNames: { '#segments': 'segments' },
      ExpressionAttributeValues: { ':fresh': fresh, ':job': job.jobId, ':at': now.toISOString() },
      ReturnValues: 'ALL_NEW',
    });
    return item && scanSegments(item.segments);
  }

  /**
   * Record one segment's progress from `from` to `next` (undefined: the segment is done), adding
   * `processed`; the job is done once every segment is. Conditional on the job and the segment's
   * cursor, so overlapping runs never both advance a segment: undefined when someone else moved
   * it (or a newer job replaced this one).
   */
  async advanceBackfillSegment(
    job: BackfillJob,
    segment: number,
    from: string | undefined,
    next: string | undefined,
    processed: number,
    now: Date,
  ): Promise<{ jobDone: boolean } | undefined> {
    const at = now.toISOString();
    const item = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression:
        'SET #segments.#s = :next, #status = :running, #processed = #processed + :n, updatedAt = :at',
      ConditionExpression: 'jobId = :job AND #segments.#s = :from',
      ExpressionAttributeNames: {
        '#segments': 'segments',
        '#s': String(segment),
        '#status': 'status',
        '#processed': 'processed',
      },
      ExpressionAttributeValues: {
        ':next': next ?? SEGMENT_DONE,
        ':from': from ?? SEGMENT_START,
        ':running': 'running',
        ':n': processed,
        ':at': at,
        ':job': job.jobId,
      },
      ReturnValues: 'ALL_NEW',
    });
    if (!item) return undefined;
    if (scanSegments(item.segments).some((s) => !s.done)) return { jobDone: false };
    // Every segment is done: the job is, unless another run marked it first.
    const finished = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: BACKFILL_PK, sk: job.ruleId },
      UpdateExpression: 'SET #status = :done, finishedAt = :at, updatedAt = :at',
      ConditionExpression: 'jobId = :job AND #status <> :done',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':done': 'done', ':at': at, ':job': job.jobId },
    });
    return { jobDone: finished !== undefined };
  }

  // -------------------------------------------------------------------------------------------
  // Personal data (erasure and export)

  /** Every item about a person, memberships included (for export). */
  async exportPerson(personKey: string): Promise<Item[]> {
    const items = await queryPartition(this.db, this.tableName, personPk(personKey));
    const tags = [
      ...new Set(items.filter((i) => String(i.sk).startsWith('tag#')).map((i) => i.tag as string)),
    ];
    const { items: memberships } = await batchGetAll(
      this.db,
      this.tableName,
      tags.map((t) => ({ pk: segmentPk(t), sk: personKey })),
    );
    return [...items, ...memberships];
  }

  /** Delete a person's tags, checks and memberships; how many items there were. */
  async erasePerson(personKey: string): Promise<number> {
    const items = await queryPartition(this.db, this.tableName, personPk(personKey), 'tag#');
    const tags = [...new Set(items.map((i) => i.tag as string))];
    let memberships = 0;
    await inBatches(tags, async (tag) => {
      const out = await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: segmentPk(tag), sk: personKey },
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (out.Attributes) memberships++;
    });
    return memberships + (await deletePartition(this.db, this.tableName, personPk(personKey)));
  }
}
