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
import { checkRequest } from './aws';

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

/**
 * The local stack's folder. Each use goes through the request checks as the S3 call would (the
 * folder is the `Bucket`), so the local stack holds it to lib/access.ts.
 */
export const folderFailureStore = (dir: string): FailureStore => {
  const check = (action: string, key?: string) =>
    checkRequest({ action, input: { Bucket: dir, ...(key === undefined ? {} : { Key: key }) } });
  return {
    async *list() {
      check('s3:ListBucket');
      let entries: string[];
      try {
        entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name));
      } catch {
        return;
      }
      for (const file of entries) {
        const key = relative(dir, file);
        check('s3:GetObject', key);
        yield { key, body: await readFile(file, 'utf8') };
      }
    },
    put: async (key, body) => {
      check('s3:PutObject', key);
      await writeFile(join(dir, key), body);
    },
    delete: async (key) => {
      check('s3:DeleteObject', key);
      await rm(join(dir, key), { force: true });
    },
  };
};

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
