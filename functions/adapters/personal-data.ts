/**
 * The one contract of every store that holds data about a person: find it (export) and delete
 * it (erase) for a set of person ids. Each repository that holds personal data implements it next
 * to its key design; functions/privacy/registry.ts lists the implementations, and erasure and
 * export walk that list and nothing else.
 */
import type { TableName } from '../../lib/tables';

export interface PersonalDataStore {
  /** Name in erasure and export answers (part of the HTTP contract). */
  readonly name: string;
  /** Tables whose personal data this store covers: every table declared personalData is claimed. */
  readonly tables: readonly TableName[];
  /** Every record held on these ids, as stored. */
  export(ids: readonly string[]): Promise<unknown[]>;
  /** Delete every record of these ids; how many were deleted. */
  erase(ids: readonly string[]): Promise<number>;
  /** A store that erases later (the archive rewrites files on a schedule): when an erasure at `at` is complete. */
  eraseCompleteBy?(at: Date): string;
}

/** Export per id, in parallel, as one list. */
export const exportEach = async <T>(
  ids: readonly string[],
  exportOne: (id: string) => Promise<readonly T[]>,
): Promise<T[]> => (await Promise.all(ids.map(exportOne))).flat();

/** Erase id after id (a person's ids are few; deletes stay within capacity); how many were deleted. */
export const eraseEach = async (
  ids: readonly string[],
  eraseOne: (id: string) => Promise<number>,
): Promise<number> => {
  let n = 0;
  for (const id of ids) n += await eraseOne(id);
  return n;
};
