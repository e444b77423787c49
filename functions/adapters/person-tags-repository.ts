/**
 * A person's tags, in the tags table (key design: tags-table.ts): reading them, the manual tags
 * admins set, and everything held about the person there, for export and erasure. Tags from
 * rules are written by rule-outcomes-repository.ts; both go through tag-memberships.ts.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_MANUAL_TAGS, type PersonTag, sortTags, type TagSource, tooManyTags } from '../core/tags';
import { batchGetAll, deletePartition, type Item, queryPartition, updateIf } from './dynamo';
import { eraseEach, exportEach, type PersonalDataStore } from './personal-data';
import type { TagMemberships } from './tag-memberships';
import { inBatches, personPk, segmentPk, tagSk } from './tags-table';

export interface StoredTag extends PersonTag {
  /** Confirmed: the membership holds this source (tag-memberships.ts). */
  confirmed: boolean;
}

/** What the person partition holds: tag items, and rule checks as ruleId → nextCheck. */
export interface PersonState {
  tags: StoredTag[];
  checks: Map<string, string>;
}

const toTag = (item: Item): StoredTag => ({
  tag: item.tag as string,
  source: item.source as TagSource,
  setAt: item.setAt as string,
  confirmed: item.m === true,
});

const publicTag = ({ tag, source, setAt }: StoredTag): PersonTag => ({ tag, source, setAt });

export class PersonTagsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly memberships: TagMemberships,
  ) {}

  /** One read of the person partition: what every write decision starts from. */
  async personState(personKey: string): Promise<PersonState> {
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
      (t) => this.memberships.removeTag(personKey, t.tag, 'manual'),
    );
    await inBatches([...wanted], async (tag) => {
      const current = manual.find((t) => t.tag === tag);
      if (!current?.confirmed)
        await this.memberships.addTag(personKey, tag, 'manual', at, current !== undefined);
    });
    return this.personTags(personKey);
  }

  /** Add manual tags (those already set keep their time). Answers every tag. */
  async addManualTags(personKey: string, tags: readonly string[], now: Date): Promise<PersonTag[]> {
    await this.changeManualTags(personKey, { add: tags, remove: [] }, now);
    return this.personTags(personKey);
  }

  /**
   * Add and remove manual tags in one decision (bulk imports: one read of the person, no answer).
   * Idempotent — tags already set keep their time, absent ones are not removed — so a change sent
   * twice applies once; over MAX_MANUAL_TAGS it throws before writing anything.
   */
  async changeManualTags(
    personKey: string,
    change: { add: readonly string[]; remove: readonly string[] },
    now: Date,
  ): Promise<void> {
    const state = await this.personState(personKey);
    const manual = new Map(state.tags.filter((t) => t.source === 'manual').map((t) => [t.tag, t]));
    const removed = new Set(change.remove);
    const total = new Set([...[...manual.keys()].filter((t) => !removed.has(t)), ...change.add]).size;
    if (total > MAX_MANUAL_TAGS) throw tooManyTags('manualTags', total);
    const at = now.toISOString();
    await inBatches(
      [...removed].filter((t) => manual.has(t)),
      (tag) => this.memberships.removeTag(personKey, tag, 'manual'),
    );
    await inBatches([...new Set(change.add)], async (tag) => {
      const current = manual.get(tag);
      if (!current?.confirmed)
        await this.memberships.addTag(personKey, tag, 'manual', at, current !== undefined);
    });
  }

  /** Remove a manual tag (idempotent); the same tag from a rule or model stays. */
  async removeManualTag(personKey: string, tag: string): Promise<PersonTag[]> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: personPk(personKey), sk: tagSk(tag, 'manual') },
      }),
    );
    if (Item) await this.memberships.removeTag(personKey, tag, 'manual');
    return this.personTags(personKey);
  }

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
      // Every source out, then the size drops and the membership goes (segment-sizes.ts).
      const held = await updateIf(this.db, {
        TableName: this.tableName,
        Key: { pk: segmentPk(tag), sk: personKey },
        UpdateExpression: 'REMOVE sources',
        ConditionExpression: 'attribute_exists(pk)',
      });
      if (held) memberships++;
      await this.memberships.membershipChanged(tag, personKey);
    });
    return memberships + (await deletePartition(this.db, this.tableName, personPk(personKey)));
  }
}

/** Tags of every source, segment memberships and rule checks of a person. */
export class TagsPersonalData implements PersonalDataStore {
  readonly name = 'tags';
  readonly tables = ['tags'] as const;

  constructor(private readonly personTags: Pick<PersonTagsRepository, 'exportPerson' | 'erasePerson'>) {}

  export(ids: readonly string[]): Promise<unknown[]> {
    return exportEach(ids, (id) => this.personTags.exportPerson(id));
  }

  erase(ids: readonly string[]): Promise<number> {
    return eraseEach(ids, (id) => this.personTags.erasePerson(id));
  }
}
