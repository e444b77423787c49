/**
 * Where personal data lives: one PersonalDataStore per store (functions/adapters/personal-data.ts),
 * each implemented by the repository that owns the store's keys. Erasure and export walk this list
 * and nothing else, so a store that holds personal data must join it — a test fails when a table
 * declared `personalData` is claimed by no entry.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableName } from '../../lib/tables';
import { type ArchiveDeps, ArchivePersonalData } from '../adapters/archive-store';
import { ConsentPersonalData, type ConsentRepository } from '../adapters/consent-repository';
import type { Item } from '../adapters/dynamo';
import { AssignmentsPersonalData, type ExperimentsRepository } from '../adapters/experiments-repository';
import { FailedBatchesPersonalData, type FailureStore } from '../adapters/failure-store';
import { OutboxPersonalData, OutboxRepository } from '../adapters/outbox-repository';
import { ProfilePersonalData } from '../adapters/people-repository';
import { TagsPersonalData } from '../adapters/person-tags-repository';
import type { PersonalDataStore } from '../adapters/personal-data';
import { QuarantinePersonalData } from '../adapters/quarantine-repository';
import type { TagsRepository } from '../adapters/tags-repository';

export interface RegistryDeps {
  db: DynamoDBDocumentClient;
  tableNames: Record<TableName, string>;
  consent: ConsentRepository;
  failures: FailureStore | undefined;
  tags: TagsRepository;
  experiments: ExperimentsRepository;
  key: Uint8Array;
  /** The archive (docs/archive.md); undefined where the function has no archive bucket. */
  archive: ArchiveDeps | undefined;
}

/** Every store, in the order erasure walks them (and the answers list them). */
export const personalDataRegistry = (deps: RegistryDeps): PersonalDataStore[] => [
  new ProfilePersonalData(deps.db, deps.tableNames.users),
  new ConsentPersonalData(deps.consent, deps.key),
  new QuarantinePersonalData(deps.db, deps.tableNames.quarantine),
  new TagsPersonalData(deps.tags),
  new AssignmentsPersonalData(deps.experiments),
  new FailedBatchesPersonalData(deps.failures, deps.db, deps.tableNames.quarantine),
  // Archive: archived events; erasure rewrites their files within archive.erasure.boundHours.
  new ArchivePersonalData(deps.archive),
  // Destinations (docs/destinations.md): last, so leave triggers written while tags are erased go too.
  new OutboxPersonalData(new OutboxRepository(deps.db, deps.tableNames.outbox)),
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
