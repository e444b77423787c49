/**
 * Tags set by models (source `model:<name>`) in the tags table, through the same membership
 * bookkeeping as manual and rule tags (tag-memberships.ts), so segments, experiments and rules
 * see them like any other tag. Erasure and export already cover them (person-tags-repository.ts).
 */
import { modelSource } from '../core/models/definition';
import type { TagChange } from '../core/models/scoring';
import type { TagMemberships } from './tag-memberships';
import type { TagsRepository } from './tags-repository';
import { inBatches } from './tags-table';

export class ModelTags {
  private readonly memberships: TagMemberships;

  constructor(private readonly tags: TagsRepository) {
    this.memberships = tags.memberships;
  }

  /** Remove every tag a model set on a person (withdrawal of personalisation); how many there were. */
  async clearPerson(personKey: string): Promise<number> {
    const held = (await this.tags.personTags(personKey)).filter((t) => t.source.startsWith('model:'));
    await inBatches(held, (t) => this.memberships.removeTag(personKey, t.tag, t.source));
    return held.length;
  }

  /** Apply one person's tag changes; returns the writes made (tags added plus removed). */
  async apply(personKey: string, changes: readonly TagChange[], now: Date): Promise<number> {
    const at = now.toISOString();
    const writes = changes.flatMap((c) => [
      ...c.add.map((tag) => () => this.memberships.addTag(personKey, tag, modelSource(c.model), at, false)),
      ...c.remove.map((tag) => () => this.memberships.removeTag(personKey, tag, modelSource(c.model))),
    ]);
    await inBatches(writes, (w) => w());
    return writes.length;
  }
}
