/**
 * Exports of archived events (admin; docs/archive.md): POST starts the job — Athena's UNLOAD (DuckDB's
 * COPY locally) of a date range into the exports bucket, as Parquet or newline-delimited JSON — and
 * answers 202; GET answers its status and, once it succeeded, presigned URLs of its files. What ML
 * pipelines and warehouses read. The request travels with the job (its `-- pulse:` header).
 */
import { randomUUID } from 'node:crypto';
import { type SqlEngine, sqlEngine, statementTag, taggedStatement } from '../adapters/analytics-engine';
import { type ObjectStore, objectStoreFor } from '../adapters/object-store';
import { type ExportRequest, exportRequestSchema } from '../core/analytics';
import { archiveSelectSql } from '../core/archive';
import { Problem } from '../core/problem';
import { parseWith } from '../core/zod';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { contract } from './exports.contract';

/** How long a download link works: long enough for a pipeline to fetch a day's files. */
export const EXPORT_URL_SECONDS = 6 * 3600;

const exportsStore = (): ObjectStore => {
  const store = objectStoreFor('exports');
  if (!store) throw new Error('the exports bucket is not configured');
  return store;
};

/** The export a job was started for (and where its files go), or undefined when not one of ours. */
const exportOf = (statement: string): { request: ExportRequest; prefix: string } | undefined => {
  const tag = statementTag(statement) as { export?: unknown; prefix?: unknown } | undefined;
  const parsed = tag?.export === undefined ? undefined : parseWith(exportRequestSchema, tag.export);
  return parsed?.ok && typeof tag?.prefix === 'string'
    ? { request: parsed.value, prefix: tag.prefix }
    : undefined;
};

const answer = async (engine: SqlEngine, exportId: string) => {
  const status = await engine.status(exportId);
  const job = status && exportOf(status.statement);
  if (!status || !job) throw new Problem(404, 'not_found', `No export ${exportId}`);
  const files: { key: string; bytes: number; url: string }[] = [];
  if (status.state === 'succeeded') {
    const store = exportsStore();
    for await (const o of store.list(job.prefix))
      files.push({
        key: o.key,
        bytes: o.size,
        url: await store.presign(o.key, { method: 'GET', expiresInSeconds: EXPORT_URL_SECONDS }),
      });
  }
  return {
    exportId,
    status: status.state,
    request: job.request,
    ...(status.state === 'succeeded'
      ? { files, expiresAt: new Date(Date.now() + EXPORT_URL_SECONDS * 1000).toISOString() }
      : {}),
    ...(status.error ? { error: status.error } : {}),
    ...(status.bytesScanned !== undefined ? { bytesScanned: status.bytesScanned } : {}),
  };
};

export const handler = httpHandler({
  module: 'archive/exports',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    createExport: async (_request, { body }) => {
      const engine = await sqlEngine();
      const prefix = `exports/${randomUUID()}/`;
      const select = archiveSelectSql(engine.source(), { ...body, ordered: false });
      const exportId = await engine.start(
        taggedStatement({ export: body, prefix }, engine.exportStatement(select, prefix, body.format)),
      );
      return {
        status: 202,
        headers: { location: `/api/exports/${exportId}` },
        body: { exportId, status: 'queued' as const },
      };
    },
    getExport: async (_request, { params: { exportId } }) => ({
      status: 200,
      body: await answer(await sqlEngine(), exportId),
    }),
  },
});
