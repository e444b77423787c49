/**
 * Where personal data lives: one entry per store, each able to find (export) and delete
 * (erase) every record of a set of person ids. Erasure and export walk this registry and
 * nothing else, so a store that holds personal data must join it — a test fails when a table
 * declared `personalData` is claimed by no entry.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { TableName } from '../../lib/tables';
import type { ConsentRepository } from '../adapters/consent-repository';
import { deletePartition, type Item, queryPartition } from '../adapters/dynamo';
import type { ExperimentsRepository } from '../adapters/experiments-repository';
import { FailureIndex } from '../adapters/failure-index';
import { type FailureStore, splitFailureObject } from '../adapters/failure-store';
import { aliasKey, linksPk } from '../adapters/identity-reader';
import { personItemKey } from '../adapters/people-repository';
import { quarantinePk } from '../adapters/quarantine-repository';
import type { TagsRepository } from '../adapters/tags-repository';
import { keyedIdHash } from '../core/signing';

export interface PersonalDataStore {
  /** Name in erasure and export answers. */
  name: string;
  /** Tables whose personal data this store covers. */
  tables: readonly TableName[];
  export(ids: readonly string[]): Promise<unknown[]>;
  /** Delete every record of these ids; how many were deleted. */
  erase(ids: readonly string[]): Promise<number>;
}

export interface RegistryDeps {
  db: DynamoDBDocumentClient;
  tableNames: Record<TableName, string>;
  consent: ConsentRepository;
  failures: FailureStore | undefined;
  tags: TagsRepository;
  experiments: ExperimentsRepository;
  key: Uint8Array;
}

/** Items under `<prefix><id>` partitions of a table: the convention per-person items follow. */
const personPartitions = (
  deps: RegistryDeps,
  name: string,
  table: TableName,
  pkOf: (id: string) => string,
): PersonalDataStore => ({
  name,
  tables: [table],
  export: async (ids) =>
    (await Promise.all(ids.map((id) => queryPartition(deps.db, deps.tableNames[table], pkOf(id))))).flat(),
  erase: async (ids) => {
    let n = 0;
    for (const id of ids) n += await deletePartition(deps.db, deps.tableNames[table], pkOf(id));
    return n;
  },
});

export const personalDataRegistry = (deps: RegistryDeps): PersonalDataStore[] => [
  {
    // Profile and stats, dedup state included (it lives in the person item).
    name: 'profile',
    tables: ['users'],
    export: async (ids) => {
      const items = await Promise.all(
        ids.flatMap((id) =>
          [personItemKey(id), aliasKey(id)].map((key) =>
            deps.db.send(new GetCommand({ TableName: deps.tableNames.users, Key: key })),
          ),
        ),
      );
      const links = await Promise.all(
        ids.map((id) => queryPartition(deps.db, deps.tableNames.users, linksPk(id))),
      );
      return [...items.flatMap((r) => (r.Item ? [r.Item] : [])), ...links.flat()];
    },
    erase: async (ids) => {
      let n = 0;
      for (const id of ids) {
        // The profile, the identity link this id is the anonymous side of, and the user's links.
        for (const key of [personItemKey(id), aliasKey(id)]) {
          const out = await deps.db.send(
            new DeleteCommand({ TableName: deps.tableNames.users, Key: key, ReturnValues: 'ALL_OLD' }),
          );
          if (out.Attributes) n++;
        }
        n += await deletePartition(deps.db, deps.tableNames.users, linksPk(id));
      }
      return n;
    },
  },
  {
    // Consent: the history moves under a keyed hash of the id (the proof the law asks for).
    name: 'consent',
    tables: ['consent'],
    export: async (ids) =>
      (await Promise.all(ids.map(async (id) => ({ subject: id, ...(await deps.consent.state(id)) })))).filter(
        (s) => s.current || s.history.length > 0,
      ),
    erase: async (ids) => {
      let n = 0;
      for (const id of ids) n += await deps.consent.erase(id, keyedIdHash(deps.key, id));
      return n;
    },
  },
  personPartitions(deps, 'quarantine', 'quarantine', quarantinePk),
  {
    // Tags of every source, segment memberships, rule checks.
    name: 'tags',
    tables: ['tags'],
    export: async (ids) => (await Promise.all(ids.map((id) => deps.tags.exportPerson(id)))).flat(),
    erase: async (ids) => {
      let n = 0;
      for (const id of ids) n += await deps.tags.erasePerson(id);
      return n;
    },
  },
  {
    // Experiment assignments (exposure state lives in the profile).
    name: 'variants',
    tables: ['variants'],
    export: async (ids) =>
      (await Promise.all(ids.map((id) => deps.experiments.personAssignments(id)))).flat(),
    erase: async (ids) => {
      let n = 0;
      for (const id of ids) n += await deps.experiments.eraseAssignments(id);
      return n;
    },
  },
  {
    // Failed batches in the on-failure bucket: only the objects the failure index names for these
    // ids (functions/privacy/failure-index.ts), never a walk of the whole bucket. The index entries
    // (quarantine table, `fi#` partitions) are erased with the records.
    name: 'failures',
    tables: ['quarantine'],
    export: async (ids) => {
      const found: unknown[] = [];
      if (!deps.failures) return found;
      const index = new FailureIndex(deps.db, deps.tableNames.quarantine);
      for (const key of await index.objectKeys(ids)) {
        const body = await deps.failures.get(key);
        if (body !== undefined) found.push(...(splitFailureObject(body, new Set(ids))?.matching ?? []));
      }
      return found;
    },
    erase: async (ids) => {
      let n = 0;
      const store = deps.failures;
      const index = new FailureIndex(deps.db, deps.tableNames.quarantine);
      for (const key of store ? await index.objectKeys(ids) : []) {
        const body = await store?.get(key);
        const split = body === undefined ? undefined : splitFailureObject(body, new Set(ids));
        if (!store || !split || split.matching.length === 0) continue;
        n += split.matching.length;
        if (split.rest === undefined) await store.delete(key);
        else await store.put(key, split.rest);
      }
      await index.erase(ids);
      return n;
    },
  },
];

/** JSON for export: binary attributes as base64, sets as arrays. */
export const exportable = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Set) return [...value].map(exportable);
  if (Array.isArray(value)) return value.map(exportable);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value as Item).map(([k, v]) => [k, exportable(v)]));
  return value;
};
