/**
 * A bucket of lib/buckets.ts as functions use it: S3 in AWS, a folder in the local stack. Both hand
 * out presigned URLs — S3's own (SigV4), or the local object server's (lib/local/object-server.ts),
 * signed with a key derived from the local signing key — so clients upload and download the same
 * way on a laptop as in AWS, without credentials.
 *
 * Each folder operation goes through the request checks as the S3 call would (the folder is the
 * `Bucket`), so the local stack holds it to lib/access.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type BucketName, buckets } from '../../lib/buckets';
import { ENV } from '../../lib/config';
import { deriveKey } from '../core/signing';
import { checkRequest } from './aws';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export type PresignMethod = 'GET' | 'PUT';

/** A byte range of an object: from `from` (default 0) to `to` (exclusive; default the end). */
export interface ByteRange {
  readonly from?: number;
  readonly to?: number;
}

/** An object read as a stream: its whole size, and the bytes of the range asked for. */
export interface ObjectStream {
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface PresignOptions {
  readonly method: PresignMethod;
  /** Seconds the URL stays valid (S3 allows up to 7 days for SigV4). */
  readonly expiresInSeconds: number;
  /** For PUT: the Content-Type the upload must send (S3 signs it). */
  readonly contentType?: string;
}

export interface ObjectStore {
  /** The bucket's name in AWS, the folder locally: what access checks name. */
  readonly bucket: string;
  /** An object's bytes; undefined when there is no such object (never written, erased, expired). */
  get(key: string): Promise<Uint8Array | undefined>;
  getText(key: string): Promise<string | undefined>;
  /**
   * An object's bytes as a stream, from an offset (a ranged GET): what reads files too large to
   * hold, and resumes them where a checkpoint says. Undefined when there is no such object.
   */
  read(key: string, range?: ByteRange): Promise<ObjectStream | undefined>;
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order, paged underneath. */
  list(prefix: string): AsyncIterable<StoredObject>;
  presign(key: string, options: PresignOptions): Promise<string>;
  /** The local stack only: the file behind a key, for tools that read files in place (DuckDB). */
  readonly localPath?: (key: string) => string;
}

/** Bytes a folder read hands over at a time (an S3 body arrives in the socket's chunks). */
const READ_CHUNK_BYTES = 256 * 1024;

/** S3 keys are at most 1,024 bytes of UTF-8; a folder key must also stay inside its folder. */
export const MAX_OBJECT_KEY_BYTES = 1024;

const isMissing = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

async function* nothing(): AsyncGenerator<Uint8Array> {}

/** The size of an object with no bytes left to read; undefined when it does not exist. */
const emptyRead = async (
  client: S3Client,
  bucket: string,
  key: string,
): Promise<ObjectStream | undefined> => {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: head.ContentLength ?? 0, body: nothing() };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
};

export const s3ObjectStore = (bucket: string, client = new S3Client({})): ObjectStore => {
  const get = async (key: string): Promise<Uint8Array | undefined> => {
    try {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Body ? await Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };
  return {
    bucket,
    get,
    getText: async (key) => {
      const bytes = await get(key);
      return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
    },
    read: async (key, range = {}) => {
      const from = range.from ?? 0;
      const to = range.to;
      if (to !== undefined && to <= from) return emptyRead(client, bucket, key);
      try {
        const out = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...((from > 0 || to !== undefined) && {
              Range: `bytes=${from}-${to === undefined ? '' : to - 1}`,
            }),
          }),
        );
        // `bytes 0-99/1000`: the object's size is after the slash.
        const size = Number(out.ContentRange?.split('/')[1] ?? out.ContentLength ?? 0);
        return { size, body: (out.Body ?? nothing()) as AsyncIterable<Uint8Array> };
      } catch (error) {
        if (isMissing(error)) return undefined;
        // A range starting at or past the end (a job checkpointed at its last byte): nothing left.
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'InvalidRange' || e.$metadata?.httpStatusCode === 416)
          return emptyRead(client, bucket, key);
        throw error;
      }
    },
    put: async (key, body, contentType) => {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
    },
    delete: async (key) => {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    list: async function* (prefix) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    presign: (key, options) =>
      getSignedUrl(
        client,
        options.method === 'PUT'
          ? new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              ...(options.contentType ? { ContentType: options.contentType } : {}),
            })
          : new GetObjectCommand({ Bucket: bucket, Key: key }),
        { expiresIn: options.expiresInSeconds },
      ),
  };
};

/** Query parameters of a local presigned URL. */
export const LOCAL_PRESIGN = {
  method: 'X-Pulse-Method',
  expires: 'X-Pulse-Expires',
  signature: 'X-Pulse-Signature',
} as const;

/** What a local presigned URL signs: the method, the bucket, the key and the expiry (Unix seconds). */
export const localObjectSignature = (
  signingKey: Uint8Array,
  parts: { method: string; bucket: string; key: string; expires: number },
): string =>
  createHmac('sha256', deriveKey(signingKey, 'pulse-local-objects'))
    .update(`${parts.method}\n${parts.bucket}\n${parts.key}\n${parts.expires}`)
    .digest('base64url');

/** Whether a local presigned URL's signature is this one's and it has not expired. */
export const verifyLocalObjectSignature = (
  signingKey: Uint8Array,
  parts: { method: string; bucket: string; key: string; expires: number; signature: string },
  now = Date.now(),
): boolean => {
  if (!Number.isSafeInteger(parts.expires) || parts.expires * 1000 < now) return false;
  const expected = Buffer.from(localObjectSignature(signingKey, parts));
  const given = Buffer.from(parts.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
};

/** A key as a path inside `dir`, refused if it would leave it (`..`, absolute) or is over S3's limit. */
const pathInside = (dir: string, key: string): string => {
  if (key === '' || Buffer.byteLength(key) > MAX_OBJECT_KEY_BYTES || key.includes('\0')) {
    throw new RangeError('object key is empty, over 1,024 bytes, or holds a NUL');
  }
  const path = join(dir, key);
  const rel = relative(dir, path);
  if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) {
    throw new RangeError('object key leaves its bucket');
  }
  return path;
};

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile() && !entry.name.startsWith('.tmp-')) yield path;
  }
}

export interface FolderObjectStoreOptions {
  /** The bucket's name in lib/buckets.ts: the object server serves the folder under it. */
  readonly name: BucketName;
  readonly dir: string;
  /** Base URL of the local object server; without it, presign refuses. */
  readonly objectsUrl?: string;
  /** The local signing key (ENV.localSigningKey); without it, presign refuses. */
  readonly signingKey?: Uint8Array;
}

/** The local stack's folder standing in for a bucket; keys with `/` become sub-folders, as S3 shows them. */
export const folderObjectStore = (options: FolderObjectStoreOptions): ObjectStore => {
  const { dir } = options;
  const check = (action: string, key?: string) =>
    checkRequest({ action, input: { Bucket: dir, ...(key === undefined ? {} : { Key: key }) } });
  const get = async (key: string): Promise<Uint8Array | undefined> => {
    check('s3:GetObject', key);
    try {
      return await readFile(pathInside(dir, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  return {
    bucket: dir,
    get,
    getText: async (key) => {
      const bytes = await get(key);
      return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
    },
    read: async (key, range = {}) => {
      check('s3:GetObject', key);
      const path = pathInside(dir, key);
      const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (!found) return undefined;
      const from = range.from ?? 0;
      const end = Math.min(range.to ?? found.size, found.size);
      if (from >= end) return { size: found.size, body: nothing() };
      return {
        size: found.size,
        body: createReadStream(path, { start: from, end: end - 1, highWaterMark: READ_CHUNK_BYTES }),
      };
    },
    put: async (key, body) => {
      check('s3:PutObject', key);
      const path = pathInside(dir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
    delete: async (key) => {
      check('s3:DeleteObject', key);
      await rm(pathInside(dir, key), { force: true });
    },
    list: async function* (prefix) {
      check('s3:ListBucket');
      const found: StoredObject[] = [];
      for await (const path of walk(dir)) {
        const key = relative(dir, path).split(sep).join('/');
        if (!key.startsWith(prefix)) continue;
        const s = await stat(path).catch(() => undefined);
        if (s) found.push({ key, size: s.size, lastModified: s.mtime });
      }
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      yield* found;
    },
    presign: async (key, presign) => {
      // Presigning is local arithmetic in S3 too; the request it signs is what IAM judges.
      check(presign.method === 'PUT' ? 's3:PutObject' : 's3:GetObject', key);
      pathInside(dir, key);
      if (!options.objectsUrl || !options.signingKey) {
        throw new Error('presigned URLs need the local object server (ENV.localObjectsUrl) and signing key');
      }
      const expires = Math.floor(Date.now() / 1000) + presign.expiresInSeconds;
      const signature = localObjectSignature(options.signingKey, {
        method: presign.method,
        bucket: options.name,
        key,
        expires,
      });
      const url = new URL(
        `${options.objectsUrl}/${options.name}/${key.split('/').map(encodeURIComponent).join('/')}`,
      );
      url.searchParams.set(LOCAL_PRESIGN.method, presign.method);
      url.searchParams.set(LOCAL_PRESIGN.expires, String(expires));
      url.searchParams.set(LOCAL_PRESIGN.signature, signature);
      return url.toString();
    },
    localPath: (key) => pathInside(dir, key),
  };
};

/**
 * The store a function's environment names for a bucket: S3 in AWS (lib/environment.ts sets the
 * name for the buckets its lib/access.ts declaration grants), the folder locally, or none.
 */
export const objectStoreFor = (
  name: BucketName,
  env: NodeJS.ProcessEnv = process.env,
): ObjectStore | undefined => {
  const def = buckets[name];
  const bucket = env[def.envVar];
  if (bucket) return s3ObjectStore(bucket);
  const dir = env[def.localEnvVar];
  if (!dir) return undefined;
  const key = env[ENV.localSigningKey];
  return folderObjectStore({
    name,
    dir,
    ...(env[ENV.localObjectsUrl] ? { objectsUrl: env[ENV.localObjectsUrl] } : {}),
    ...(key ? { signingKey: Buffer.from(key, 'base64url') } : {}),
  });
};
