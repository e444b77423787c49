/**
 * `DELETE /api/users/{userId}` (admin): erasure — every personal record of the person, under
 * every linked id, in every store of the registry; a suppression marker (keyed hash, never
 * the id) first, so events in flight are dropped by the consumer; then a deletion request to each
 * destination whose vendor has a deletion API (`GET /api/erasures/{erasureId}` follows them).
 * `GET …/export`: everything.
 */
import { randomUUID } from 'node:crypto';
import { type TableName, tableList } from '../../lib/tables';
import { sqlEngine } from '../adapters/analytics-engine';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { DestinationsRepository } from '../adapters/destinations-repository';
import { ErasureRequests } from '../adapters/erasure-requests';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { failureStoreFromEnv } from '../adapters/failure-store';
import { IdentityReader } from '../adapters/identity-reader';
import { objectStoreFor } from '../adapters/object-store';
import { logger } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { erasedPerson } from '../core/destinations/deletion';
import { Problem } from '../core/problem';
import { keyedIdHash } from '../core/signing';
import { requestDeletions } from '../destinations/forward-erasure';
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
// Erasure forwarded to vendors (docs/destinations.md): the destinations, the requests in the outbox table.
const destinations = new DestinationsRepository(db, tableNames.destinations);
const erasureRequests = new ErasureRequests(db, tableNames.outbox);
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
const personOf = async (subject: string) => {
  const person = await identity.resolvePerson(subject);
  const linked = (await identity.linkedIds(person)).map((l) => l.anonymousId);
  return { person, linked, ids: [...new Set([subject, person, ...linked])] };
};
const linkedIds = async (subject: string): Promise<string[]> => (await personOf(subject)).ids;

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const eraseUser: Handler<'eraseUser'> = async (request, { params }) => {
  const subject = params.userId;
  const key = await signingKey();
  const { person, linked, ids } = await personOf(subject);
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
  // Forwarded to every destination whose vendor has a deletion API; the redrive sends them.
  const erasureId = randomUUID();
  const forwarded = await requestDeletions(
    erasureRequests,
    await destinations.list(),
    erasedPerson(erasureId, request.receivedAt, subject, person, linked),
    request.receivedAt,
  );
  logger.info('erasure', { ids: ids.length, deleted, erasureId, forwarded: Object.keys(forwarded).length });
  // Stores that finish later (the archive's rewrite) say when.
  const completeBy = Object.fromEntries(
    stores.flatMap((s) => (s.eraseCompleteBy ? [[s.name, s.eraseCompleteBy(request.receivedAt)]] : [])),
  );
  return {
    status: 200,
    body: {
      erased: true,
      ids: ids.length,
      deleted,
      completeBy,
      ...(Object.keys(forwarded).length > 0 && { erasureId }),
      forwarded,
    },
  };
};

/** Each destination's part of an erasure: requested, delivered, failed or skipped, with the vendor's answer. */
const getErasure: Handler<'getErasure'> = async (_request, { params: { erasureId } }) => {
  const items = await erasureRequests.status(erasureId);
  if (items.length === 0) throw new Problem(404, 'not_found', `No erasure ${erasureId} forwarded`);
  return { status: 200, body: { erasureId, destinations: items } };
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
  handlers: { eraseUser, exportUser, getErasure },
});
