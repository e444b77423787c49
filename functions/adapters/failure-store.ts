/**
 * The consumer's on-failure destination, as erasure and export see it: failed batches (with
 * their records' payloads) in the S3 bucket, or in the local stack's folder standing in for it.
 * Erasure rewrites an object without the person's records (deleting it when none is left),
 * so other people's failed events stay available to operators.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { PersonalDataStore } from './personal-data';

export interface FailureObject {
  key: string;
  body: string;
}

export interface FailureStore {
  list(): AsyncIterable<FailureObject>;
  put(key: string, body: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export const s3FailureStore = (bucket: string, client = new S3Client({})): FailureStore => ({
  async *list() {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        yield { key: o.Key as string, body: (await Body?.transformToString('utf8')) ?? '' };
      }
      token = page.NextContinuationToken;
    } while (token);
  },
  put: async (key, body) => {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  },
  delete: async (key) => {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  },
});

export const folderFailureStore = (dir: string): FailureStore => ({
  async *list() {
    let entries: string[];
    try {
      entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    } catch {
      return;
    }
    for (const file of entries) yield { key: relative(dir, file), body: await readFile(file, 'utf8') };
  },
  put: (key, body) => writeFile(join(dir, key), body),
  delete: (key) => rm(join(dir, key), { force: true }),
});

/** The records of a failed batch that name one of `ids`, and the object rewritten without them. */
export const splitFailureObject = (
  body: string,
  ids: ReadonlySet<string>,
): { matching: unknown[]; rest: string | undefined } | undefined => {
  let parsed: { payload?: string; KinesisBatchInfo?: { batchSize?: number } };
  let event: KinesisStreamEvent;
  try {
    parsed = JSON.parse(body);
    event = JSON.parse(parsed.payload ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(event.Records)) return undefined;
  const decode = (r: KinesisStreamRecord): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const names = (r: KinesisStreamRecord) => {
    const e = decode(r);
    return (
      ids.has(r.kinesis.partitionKey) ||
      (e !== undefined &&
        [e.userId, e.anonymousId, e.personKey].some((v) => typeof v === 'string' && ids.has(v)))
    );
  };
  const matching = event.Records.filter(names);
  if (matching.length === 0) return { matching: [], rest: body };
  const kept = event.Records.filter((r) => !names(r));
  if (kept.length === 0) return { matching: matching.map((r) => decode(r) ?? r), rest: undefined };
  const rest = JSON.stringify({
    ...parsed,
    payload: JSON.stringify({ ...event, Records: kept }),
    ...(parsed.KinesisBatchInfo && {
      KinesisBatchInfo: { ...parsed.KinesisBatchInfo, batchSize: kept.length },
    }),
  });
  return { matching: matching.map((r) => decode(r) ?? r), rest };
};

/**
 * Failed batches as personal data: the records that name a person, found by reading every
 * object; erasure rewrites an object without them. No table: the on-failure bucket (or folder),
 * none in a stack that has neither.
 */
export class FailedBatchesPersonalData implements PersonalDataStore {
  readonly name = 'failures';
  readonly tables = [] as const;

  constructor(private readonly failures: FailureStore | undefined) {}

  async export(ids: readonly string[]): Promise<unknown[]> {
    const found: unknown[] = [];
    if (!this.failures) return found;
    for await (const o of this.failures.list())
      found.push(...(splitFailureObject(o.body, new Set(ids))?.matching ?? []));
    return found;
  }

  async erase(ids: readonly string[]): Promise<number> {
    let n = 0;
    if (!this.failures) return n;
    for await (const o of this.failures.list()) {
      const split = splitFailureObject(o.body, new Set(ids));
      if (!split || split.matching.length === 0) continue;
      n += split.matching.length;
      if (split.rest === undefined) await this.failures.delete(o.key);
      else await this.failures.put(o.key, split.rest);
    }
    return n;
  }
}
