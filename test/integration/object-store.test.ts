import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderObjectStore, LOCAL_PRESIGN, type ObjectStore } from '../../functions/adapters/object-store';
import { type ObjectServer, startObjectServer } from '../../lib/local/object-server';

const signingKey = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'pulse-objects-'));
let server: ObjectServer;
let store: ObjectStore;

beforeAll(async () => {
  server = await startObjectServer({ dirs: { imports: dir }, signingKey, maxUploadBytes: 1024 * 1024 });
  store = folderObjectStore({ name: 'imports', dir, objectsUrl: server.url, signingKey });
});
afterAll(() => server.close());

const collect = async (prefix: string) => {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
};

describe('a folder standing in for a bucket', () => {
  it('streams an object from a byte offset, to an end, and past its end', async () => {
    const body = Buffer.from(Array.from({ length: 700_000 }, (_, i) => i % 251));
    await store.put('big/file.bin', body);
    const bytes = async (range: { from?: number; to?: number }) => {
      const read = await store.read('big/file.bin', range);
      const parts: Uint8Array[] = [];
      for await (const part of read?.body ?? []) parts.push(part);
      return { size: read?.size, bytes: Buffer.concat(parts) };
    };
    const all = await bytes({});
    expect(all.size).toBe(700_000);
    expect(all.bytes.equals(body)).toBe(true);
    expect((await bytes({ from: 123_457 })).bytes.equals(body.subarray(123_457))).toBe(true);
    expect((await bytes({ from: 10, to: 20 })).bytes.equals(body.subarray(10, 20))).toBe(true);
    expect(await bytes({ from: 700_000 })).toEqual({ size: 700_000, bytes: Buffer.alloc(0) });
    expect(await store.read('big/missing.bin')).toBeUndefined();
  });

  it('puts, gets, lists by prefix in key order, and deletes', async () => {
    await store.put('dt=2026-11-29/hr=10/b.ndjson', '{"a":2}\n');
    await store.put('dt=2026-11-29/hr=09/a.ndjson', '{"a":1}\n');
    await store.put('other/c.txt', 'c');
    expect(await store.getText('dt=2026-11-29/hr=09/a.ndjson')).toBe('{"a":1}\n');
    expect(await collect('dt=2026-11-29/')).toEqual([
      'dt=2026-11-29/hr=09/a.ndjson',
      'dt=2026-11-29/hr=10/b.ndjson',
    ]);
    await store.delete('other/c.txt');
    expect(await store.get('other/c.txt')).toBeUndefined();
    expect(await collect('other/')).toEqual([]);
  });

  it('refuses keys that leave the folder or pass S3’s 1,024-byte limit', async () => {
    await expect(store.put('../escape', 'x')).rejects.toThrow(RangeError);
    await expect(store.get('a/../../escape')).rejects.toThrow(RangeError);
    await expect(store.put('k'.repeat(1025), 'x')).rejects.toThrow(RangeError);
  });
});

describe('presigned URLs, answered by the local object server', () => {
  it('upload with PUT and download with GET, without credentials', async () => {
    const key = 'uploads/job 1/people.csv';
    const put = await store.presign(key, { method: 'PUT', expiresInSeconds: 60 });
    const body = 'userId,plan\nu-1,pro\n';
    expect((await fetch(put, { method: 'PUT', body })).status).toBe(200);
    expect(await store.getText(key)).toBe(body);
    const get = await store.presign(key, { method: 'GET', expiresInSeconds: 60 });
    const res = await fetch(get);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
  });

  it('refuses a tampered signature, another key, another method and an expired URL with 403', async () => {
    await store.put('x.csv', 'x');
    const get = new URL(await store.presign('x.csv', { method: 'GET', expiresInSeconds: 60 }));
    const tampered = new URL(get);
    tampered.searchParams.set(LOCAL_PRESIGN.signature, `${get.searchParams.get(LOCAL_PRESIGN.signature)}x`);
    expect((await fetch(tampered)).status).toBe(403);
    const otherKey = new URL(get);
    otherKey.pathname = otherKey.pathname.replace('x.csv', 'y.csv');
    expect((await fetch(otherKey)).status).toBe(403);
    expect((await fetch(get, { method: 'PUT', body: 'overwrite' })).status).toBe(403);
    expect(await store.getText('x.csv')).toBe('x');
    const expired = await store.presign('x.csv', { method: 'GET', expiresInSeconds: -1 });
    expect((await fetch(expired)).status).toBe(403);
  });

  it('answers 404 for a missing object and keeps no partial file of a refused upload', async () => {
    expect(
      (await fetch(await store.presign('missing', { method: 'GET', expiresInSeconds: 60 }))).status,
    ).toBe(404);
    const put = await store.presign('big.bin', { method: 'PUT', expiresInSeconds: 60 });
    const res = await fetch(put, { method: 'PUT', body: Buffer.alloc(2 * 1024 * 1024) }).catch(
      () => undefined,
    );
    expect(res === undefined || res.status === 400).toBe(true);
    expect(await collect('')).not.toContain('big.bin');
    expect((await collect('')).some((k) => k.includes('.tmp-'))).toBe(false);
  });
});
