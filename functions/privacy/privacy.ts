/**
 * `DELETE /api/users/{userId}` (admin): erasure — every personal record of the person, under
 * every linked id, in every store of the registry; a suppression marker (keyed hash, never
 * the id) first, so events in flight are dropped by the consumer. `GET …/export`: everything.
 */
import { type TableName, tableList } from '../../lib/tables';
import { sqlEngine } from '../adapters/analytics-engine';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { failureStoreFromEnv } from '../adapters/failure-store';
import { IdentityReader } from '../adapters/identity-reader';
import { objectStoreFor } from '../adapters/object-store';
import { logger } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { Problem } from '../core/problem';
import { keyedIdHash } from '../core/signing';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './privacy.contract';
import { exportable, personalDataRegistry } from './registry';

const db = documentClient();
const tableNames = Object.fromEntries(tableList.map((t) => [t.name, requireEnv(t.envVar)])) as Record<
  TableName,
  string
>;
const consent = new ConsentRepository(db, tableNames.consent);
const failures = failureStoreFromEnv();

const tags = new TagsRepository(db, tableNames.tags);
const experiments = new ExperimentsRepository(db, tableNames.experiments);
const identity = new IdentityReader(db, tableNames.users);
// Archive: its bucket, and the engine that finds a person's rows in it.
const archiveBucket = objectStoreFor('archive');
const archive = archiveBucket
  ? { engine: sqlEngine, bucket: archiveBucket, retentionDays: settings.retentionDays }
  : undefined;
const registry = async () =>
  personalDataRegistry({
    db,
    tableNames,
    consent,
    failures,
    tags,
    experiments,
    key: await signingKey(),
    archive,
  });

/** Every id of the person: the user an id resolves to, and every anonymous id linked to it. */
const linkedIds = async (subject: string): Promise<string[]> => {
  const person = await identity.resolvePerson(subject);
  const linked = await identity.linkedIds(person);
  return [...new Set([subject, person, ...linked.map((l) => l.anonymousId)])];
};

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const eraseUser: Handler<'eraseUser'> = async (request, { params }) => {
  const subject = params.userId;
  const key = await signingKey();
  const ids = await linkedIds(subject);
  const hashes = ids.map((id) => keyedIdHash(key, id));
  const alreadyErased = (await consent.erasedAmong(hashes)).size > 0;
  // Markers first: from here on the consumer drops events of these ids, in flight or later.
  for (const hash of hashes) await consent.markErased(hash, request.receivedAt);
  const deleted: Record<string, number> = {};
  const stores = await registry();
  for (const store of stores) deleted[store.name] = await store.erase(ids);
  const total = Object.values(deleted).reduce((a, b) => a + b, 0);
  if (total === 0 && !alreadyErased) {
    for (const hash of hashes) await consent.unmarkErased(hash);
    throw new Problem(404, 'not_found', `No personal data for ${subject}`);
  }
  logger.info('erasure', { ids: ids.length, deleted });
  // Stores that finish later (the archive's rewrite) say when.
  const completeBy = Object.fromEntries(
    stores.flatMap((s) => (s.eraseCompleteBy ? [[s.name, s.eraseCompleteBy(request.receivedAt)]] : [])),
  );
  return { status: 200, body: { erased: true, ids: ids.length, deleted, completeBy } };
};

const exportUser: Handler<'exportUser'> = async (request, { params }) => {
  const subject = params.userId;
  const ids = await linkedIds(subject);
  const stores: Record<string, unknown> = {};
  for (const store of await registry()) stores[store.name] = exportable(await store.export(ids));
  if (Object.values(stores).every((v) => Array.isArray(v) && v.length === 0))
    throw new Problem(404, 'not_found', `No personal data for ${subject}`);
  return { status: 200, body: { subject, ids, exportedAt: request.receivedAt.toISOString(), stores } };
};

export const handler = httpHandler({
  module: 'privacy/privacy',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { eraseUser, exportUser },
});
