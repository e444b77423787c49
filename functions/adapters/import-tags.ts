/**
 * The manual tags of a bulk import, written the way `POST /api/users/{id}/tags` writes them:
 * PersonTagsRepository.changeManualTags → tag-memberships.ts, so segment sizes, rules, experiments'
 * targeting and destinations' enter/leave triggers see an imported tag like one an admin set. Each
 * row's id is resolved to its person as the tags routes do (a linked anonymous id names its user).
 *
 * Unlike the tags routes, an import never re-creates what an erasure removed: a row naming an id
 * with an erasure marker (and no consent given again since) is refused. Changes are idempotent,
 * so a chunk sent again after a crash applies once.
 */

import type { TagChanges } from '../core/imports';
import { Problem } from '../core/problem';
import { keyedIdHash } from '../core/signing';
import type { ConsentRepository } from './consent-repository';
import type { IdentityReader } from './identity-reader';
import type { PersonTagsRepository } from './person-tags-repository';
import { inBatches } from './tags-table';

export interface RowTagChange extends TagChanges {
  line: number;
  userId: string;
}

export interface ImportTagsDeps {
  tags: Pick<PersonTagsRepository, 'changeManualTags'>;
  identity: Pick<IdentityReader, 'resolvePerson'>;
  consent: Pick<ConsentRepository, 'erasedAmong'>;
  key: () => Promise<Uint8Array>;
}

export class ImportTags {
  constructor(private readonly deps: ImportTagsDeps) {}

  /**
   * Apply a chunk's changes: one person's in line order, persons side by side. Answers the lines
   * refused and why (reasons without values); any other failure throws, and the chunk is sent again.
   */
  async apply(changes: readonly RowTagChange[], now: Date): Promise<Map<number, string[]>> {
    const refused = new Map<number, string[]>();
    if (changes.length === 0) return refused;
    const ids = [...new Set(changes.map((c) => c.userId))];
    const personOf = new Map<string, string>();
    await inBatches(ids, async (id) => void personOf.set(id, await this.deps.identity.resolvePerson(id)));
    const key = await this.deps.key();
    const all = [...new Set([...ids, ...personOf.values()])];
    const hashOf = new Map(all.map((id) => [id, keyedIdHash(key, id)]));
    const markers = await this.deps.consent.erasedAmong([...hashOf.values()]);
    const erased = (id: string) => {
      const marker = markers.get(hashOf.get(id) as string);
      return marker !== undefined && marker.resumedAt === undefined;
    };
    const byPerson = new Map<string, RowTagChange[]>();
    for (const change of changes) {
      const person = personOf.get(change.userId) as string;
      if (erased(change.userId) || erased(person)) {
        refused.set(change.line, ['The person was erased: an import does not tag them again']);
        continue;
      }
      byPerson.set(person, [...(byPerson.get(person) ?? []), change]);
    }
    await inBatches([...byPerson], async ([person, rows]) => {
      for (const row of rows) {
        try {
          await this.deps.tags.changeManualTags(person, row, now);
        } catch (error) {
          if (!(error instanceof Problem) || error.status !== 413) throw error;
          refused.set(row.line, [error.message]);
        }
      }
    });
    return refused;
  }
}
