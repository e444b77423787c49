/**
 * Erasure and export against the on-failure bucket, through its index: a failed batch written to
 * the failure folder (shaped exactly as Lambda writes one to S3, payload as a string or an object)
 * is announced as S3 announces it, indexed by person id, and erasure and export then read the
 * objects the index names for the person — not every object of the bucket.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureIndexPk } from '../../functions/adapters/failure-index';
import { dynamoClient } from '../../lib/local/emulators';
import { type E2E, json, startE2E } from '../support/e2e';
import { awsFailureKey, awsFailureRecord } from '../support/failure-records';
import { canonicalEvent } from '../support/stream-records';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ consumers: [] });
});
afterAll(() => e2e?.close());

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const file = (key: string) => join(e2e.stack.failureDir, ...key.split('/'));

/** Lambda writing a failed batch to the bucket, and S3 announcing it (the local stack's hook). */
const failedBatch = async (key: string, record: unknown, announce = true) => {
  const body = JSON.stringify(record);
  await mkdir(dirname(file(key)), { recursive: true });
  await writeFile(file(key), body);
  if (announce) await e2e.stack.onFailureWritten(key, Buffer.byteLength(body));
};

const indexEntries = async () => {
  const { Items = [] } = await dynamoClient(e2e.stack.endpoints.dynamodb, 'us-east-1').send(
    new ScanCommand({ TableName: e2e.stack.names.tables.quarantine }),
  );
  return Items.map((i) => unmarshall(i)).filter((i) => String(i.pk).startsWith('fi#'));
};

const fiona = (n: number) =>
  canonicalEvent({ eventId: `fiona-${n}`, personKey: 'fiona', userId: 'fiona', campaignId: 'fail-camp' });
const gus = canonicalEvent({ eventId: 'gus-1', personKey: 'gus', userId: 'gus', campaignId: 'fail-camp' });
const now = new Date();
const mixed = awsFailureKey(1, now);
const fionaOnly = awsFailureKey(2, now);
const unannounced = awsFailureKey(3, now);

describe('the failure index', () => {
  it('indexes each announced batch by the person ids it names, expiring after the batch', async () => {
    await failedBatch(mixed, awsFailureRecord([fiona(1), gus], { timestamp: now }));
    await failedBatch(fionaOnly, awsFailureRecord([fiona(2)], { payloadAs: 'object', timestamp: now }));
    const entries = await indexEntries();
    expect(entries.map((e) => [e.pk, e.sk]).sort()).toEqual(
      [
        [failureIndexPk('fiona'), mixed],
        [failureIndexPk('fiona'), fionaOnly],
        [failureIndexPk('gus'), mixed],
      ].sort(),
    );
    // The bucket keeps batches pulse:failureRetentionDays (30 by default); the index a little longer.
    for (const e of entries) {
      const days = (e.expiresAt * 1000 - now.getTime()) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(30);
      expect(days).toBeLessThanOrEqual(33);
    }
  });

  it('exports the person’s failed records, found through the index', async () => {
    const res = await e2e.call('/api/users/fiona/export', { headers: admin() });
    expect(res.status).toBe(200);
    const { stores } = await json(res);
    expect(stores.failures.map((r: { eventId: string }) => r.eventId).sort()).toEqual(['fiona-1', 'fiona-2']);
  });

  it('erases them: a shared batch is rewritten without the person, a batch of theirs alone deleted', async () => {
    // A batch nobody announced is not in the index: erasure reads only what the index names.
    await failedBatch(unannounced, awsFailureRecord([fiona(3)], { timestamp: now }), false);
    const res = await e2e.call('/api/users/fiona', { method: 'DELETE', headers: admin() });
    expect(res.status).toBe(200);
    expect((await json(res)).deleted.failures).toBe(2);

    const rest = JSON.parse(await readFile(file(mixed), 'utf8'));
    expect(typeof rest.payload).toBe('string');
    expect(
      JSON.parse(rest.payload).Records.map(
        (r: { kinesis: { partitionKey: string } }) => r.kinesis.partitionKey,
      ),
    ).toEqual(['gus']);
    expect(rest.KinesisBatchInfo.batchSize).toBe(1);
    await expect(readFile(file(fionaOnly), 'utf8')).rejects.toThrow(/ENOENT/);
    expect(await readFile(file(unannounced), 'utf8')).toContain('fiona');

    // Fiona's index entries went with her records; Gus's still point at the rewritten batch.
    expect((await indexEntries()).map((e) => [e.pk, e.sk])).toEqual([[failureIndexPk('gus'), mixed]]);
    const gusExport = await json(await e2e.call('/api/users/gus/export', { headers: admin() }));
    expect(gusExport.stores.failures.map((r: { eventId: string }) => r.eventId)).toEqual(['gus-1']);
  });

  it('counts and skips an object that is not an on-failure record (a retry would not help)', async () => {
    const junk = awsFailureKey(5, now);
    await expect(failedBatch(junk, { not: 'a failure record' })).resolves.toBeUndefined();
    expect((await indexEntries()).some((e) => e.sk === junk)).toBe(false);
  });

  it('indexes nothing for a batch erased before its announcement arrived', async () => {
    const gone = awsFailureKey(4, now);
    await e2e.stack.onFailureWritten(gone, 100);
    expect((await indexEntries()).some((e) => e.sk === gone)).toBe(false);
  });
});
