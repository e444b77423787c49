/**
 * The sources table against dynalite: a created source answers its write key and, for a client
 * source, its identity-verification secret — once: neither is stored or listed.
 */
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourcesRepository } from '../../functions/adapters/sources-repository';
import { identitySecret } from '../../functions/core/identity-verification';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
let emulators: Emulators;
let db: DynamoDBDocumentClient;
let repo: SourcesRepository;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  repo = new SourcesRepository(db, emulators.names.tables.sources, async (id) => identitySecret(key, id));
});
afterAll(() => emulators.close());

describe('creating a source', () => {
  it("answers a client source's identity secret once, derived from the signing key and its id", async () => {
    const created = await repo.create({ name: 'web', channel: 'web', kind: 'client', rateLimit: 10 });
    expect(created.writeKey).toMatch(/^pk_/);
    expect(created.identitySecret).toBe(identitySecret(key, created.source.sourceId));
    const stored = JSON.stringify(
      (await db.send(new ScanCommand({ TableName: emulators.names.tables.sources }))).Items,
    );
    expect(stored).not.toContain(created.identitySecret);
    expect(stored).not.toContain(created.writeKey);
    expect(JSON.stringify(await repo.list(10))).not.toContain('identitySecret');
  });

  it('answers none for a server source: its key is trusted, it never presents user hashes', async () => {
    const created = await repo.create({ name: 'backend', channel: 'server', kind: 'server', rateLimit: 10 });
    expect(created.writeKey).toMatch(/^sk_/);
    expect(created).not.toHaveProperty('identitySecret');
  });
});
