/**
 * The local stack's stand-in for S3's presigned URLs: GET and PUT of `/<bucket>/<key>` on the
 * folders of lib/buckets.ts, for URLs that functions/adapters/object-store.ts signed with the local
 * signing key. Like S3, it answers 403 to a bad or expired signature or another method than the one
 * signed, 404 to a missing object, and takes an upload whole or not at all (written aside, renamed).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  LOCAL_PRESIGN,
  MAX_OBJECT_KEY_BYTES,
  verifyLocalObjectSignature,
} from '../../functions/adapters/object-store';
import type { BucketName } from '../buckets';
import { listenLocal } from './listen';

export interface ObjectServerOptions {
  readonly dirs: Readonly<Partial<Record<BucketName, string>>>;
  readonly signingKey: Uint8Array;
  readonly host?: string;
  readonly port?: number;
  /** S3's limit for one PUT is 5 GB. */
  readonly maxUploadBytes?: number;
}

export interface ObjectServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;

const send = (res: ServerResponse, status: number, code: string) => {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`);
};

const fileOf = (dir: string, key: string): string | undefined => {
  if (key === '' || Buffer.byteLength(key) > MAX_OBJECT_KEY_BYTES) return undefined;
  const path = join(dir, key);
  const rel = relative(dir, path);
  return rel === '' || rel.startsWith('..') || rel.split(sep).includes('..') ? undefined : path;
};

export const startObjectServer = async (options: ObjectServerOptions): Promise<ObjectServer> => {
  const maxUpload = options.maxUploadBytes ?? MAX_UPLOAD_BYTES;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [bucketPart, ...keyParts] = url.pathname.slice(1).split('/');
    const bucket = bucketPart as BucketName;
    const dir = options.dirs[bucket];
    let key: string;
    try {
      key = keyParts.map(decodeURIComponent).join('/');
    } catch {
      return send(res, 400, 'InvalidURI');
    }
    const method = req.method ?? 'GET';
    const signedMethod = url.searchParams.get(LOCAL_PRESIGN.method) ?? '';
    const valid =
      dir !== undefined &&
      (method === signedMethod || (method === 'HEAD' && signedMethod === 'GET')) &&
      verifyLocalObjectSignature(options.signingKey, {
        method: signedMethod,
        bucket,
        key,
        expires: Number(url.searchParams.get(LOCAL_PRESIGN.expires)),
        signature: url.searchParams.get(LOCAL_PRESIGN.signature) ?? '',
      });
    if (!valid) {
      req.resume();
      return send(res, 403, 'AccessDenied');
    }
    const file = fileOf(dir, key);
    if (!file) return send(res, 400, 'InvalidObjectName');

    if (method === 'PUT') {
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      if (declared > maxUpload) {
        req.resume();
        return send(res, 400, 'EntityTooLarge');
      }
      await mkdir(dirname(file), { recursive: true });
      const part = join(dirname(file), `.tmp-${randomBytes(6).toString('hex')}`);
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxUpload) req.destroy(new Error('upload over the limit'));
      });
      try {
        await pipeline(req, createWriteStream(part));
        await rename(part, file);
      } catch {
        await rm(part, { force: true });
        if (!res.headersSent && !res.destroyed) send(res, 400, 'IncompleteBody');
        return;
      }
      res.writeHead(200, { etag: `"${randomBytes(8).toString('hex')}"` });
      return res.end();
    }
    // GET and HEAD
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(res, 404, 'NoSuchKey');
    res.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream' });
    if (method === 'HEAD') return res.end();
    await pipeline(createReadStream(file), res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'InternalError');
      else res.destroy();
    });
  });
  return listenLocal(server, options);
};
