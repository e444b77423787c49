/**
 * `POST /api/imports` and `GET /api/imports/{importId}` (admin): bulk imports of traits. Creating
 * one checks the mapping against the trait declarations and answers a presigned URL (S3's, or the
 * local object server's) to PUT the CSV or NDJSON file to; the scheduled runner applies it
 * (functions/traits/importer.ts) and the job's report says what was applied and rejected.
 */
import { randomBytes } from 'node:crypto';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { type ImportJob, ImportsRepository } from '../adapters/imports-repository';
import { objectStoreFor } from '../adapters/object-store';
import { logger } from '../adapters/observability';
import { TraitDeclarationsRepository } from '../adapters/trait-declarations-repository';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './imports.contract';

const db = documentClient();
const traitsTable = requireEnv(tables.traits.envVar);
const imports = new ImportsRepository(db, traitsTable);
const declarations = new TraitDeclarationsRepository(db, traitsTable);

const UPLOAD_URL_SECONDS = 3600;

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const view = (job: ImportJob) => {
  const { leaseUntil: _lease, objectKey: _key, ...rest } = job;
  return rest;
};

const createImport: Handler<'createImport'> = async (request, { body }) => {
  const declared = new Set((await declarations.list()).map((d) => d.name));
  const errors = Object.keys(body.mapping.traits ?? {})
    .filter((t) => !declared.has(t))
    .map((t) => ({
      path: `mapping.traits.${t}`,
      message: `Trait ${t} is not declared (PUT /api/traits/${t})`,
    }));
  if (errors.length > 0) throw new Problem(400, 'validation_failed', 'Invalid mapping', errors);
  const store = objectStoreFor('imports');
  if (!store) throw new Error('No imports bucket in this function’s environment');
  const importId = `imp_${randomBytes(12).toString('base64url')}`;
  const at = request.receivedAt.toISOString();
  const job: ImportJob = {
    importId,
    format: body.format,
    mapping: body.mapping,
    status: 'awaiting_upload',
    objectKey: `uploads/${importId}.${body.format}`,
    createdAt: at,
    updatedAt: at,
    nextLine: 0,
    rows: 0,
    applied: 0,
    rejected: 0,
    rejections: [],
  };
  await imports.create(job);
  const uploadUrl = await store.presign(job.objectKey, {
    method: 'PUT',
    expiresInSeconds: UPLOAD_URL_SECONDS,
  });
  logger.info('import created', {
    importId,
    format: body.format,
    traits: Object.keys(body.mapping.traits ?? {}).length,
    tags: body.mapping.tags !== undefined,
  });
  return {
    status: 201,
    body: {
      ...view(job),
      upload: {
        url: uploadUrl,
        method: 'PUT',
        expiresAt: new Date(request.receivedAt.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
      },
    },
  };
};

const getImport: Handler<'getImport'> = async (_request, { params: { importId } }) => {
  const job = await imports.get(importId);
  if (!job) throw new Problem(404, 'not_found', `No import ${importId}`);
  return { status: 200, body: view(job) };
};

export const handler = httpHandler({
  module: 'traits/imports',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { createImport, getImport },
});
