/**
 * Running bulk imports (functions/core/imports.ts for the rows, import-records.ts for the file): a
 * job waits for its upload, then streams it — never holding more than a chunk of it — in chunks of
 * rows. Per chunk: the manual tags go through the tags path (functions/adapters/import-tags.ts),
 * the trait updates to the stream (the consumer applies them like any identify), then the job
 * records the byte offset and line the next chunk starts at, and its counts. At the run's deadline
 * it stops after a checkpoint; the next run resumes with a ranged read from that offset. A chunk
 * sent twice (a run that died before its checkpoint) applies once: each row's event id is derived
 * from the job, the line and what it sets, and tag changes are idempotent. Once the job ends
 * (completed or failed) the upload is deleted.
 *
 * Reports and logs hold line numbers, counts and field names, never values or ids.
 */

import type { ImportTags } from '../adapters/import-tags';
import type { ImportJob, ImportsRepository, Rejection } from '../adapters/imports-repository';
import type { ObjectStore } from '../adapters/object-store';
import {
  FILE_START,
  IMPORT_RECORD_BYTES,
  type ReadPosition,
  RecordReader,
  RecordTooLarge,
  readRecords,
} from '../core/import-records';
import { headerOf, IMPORT_LIMITS, missingColumns, type RowOutcome, rowUpdate, toRow } from '../core/imports';
import { type Accepted, accepted } from '../core/ingest';
import { type TraitContext, traitUpdateEvent } from '../core/traits';

export interface ImportDeps {
  imports: ImportsRepository;
  store: ObjectStore;
  traits: () => Promise<TraitContext>;
  publish: (events: readonly Accepted[]) => Promise<void>;
  /** Manual tags (needed by jobs that map a tags column). */
  tags?: Pick<ImportTags, 'apply'>;
  clock?: () => number;
  /** Rows per stream write and checkpoint. */
  chunkRows?: number;
}

/** An upload not made within this long expires the job. */
export const UPLOAD_WINDOW_MS = 24 * 3600_000;

type Good = Extract<RowOutcome, { ok: true }> & { line: number };

const finish = (job: ImportJob, status: ImportJob['status'], now: number, error?: string): ImportJob => ({
  ...job,
  status,
  finishedAt: new Date(now).toISOString(),
  updatedAt: new Date(now).toISOString(),
  ...(error !== undefined && { error }),
});

/** A CSV's header (the file's first record) and where the rows after it start. */
export const readHeader = async (store: ObjectStore, key: string) => {
  const file = await store.read(key, { to: IMPORT_RECORD_BYTES + 1 });
  if (!file) return undefined;
  const reader = new RecordReader('csv');
  for await (const chunk of file.body) {
    const [first] = reader.push(chunk);
    if (first) return { columns: headerOf(first), next: first.next };
  }
  const [first] = reader.end();
  return { columns: first ? headerOf(first) : [], next: first?.next ?? FILE_START };
};

/** The rows read since the last checkpoint, and where the row after them starts. */
interface Chunk {
  rows: number;
  good: Good[];
  rejected: Rejection[];
  next: ReadPosition;
}

const emptyChunk = (next: ReadPosition): Chunk => ({ rows: 0, good: [], rejected: [], next });

/**
 * Apply a chunk — its tags first (a row whose tags are refused is rejected whole), then its trait
 * updates on the stream — and save the checkpoint after it. Returns the job as saved.
 */
const applyChunk = async (deps: ImportDeps, job: ImportJob, chunk: Chunk, now: () => number) => {
  const tagged = chunk.good.filter((g) => g.tags.add.length + g.tags.remove.length > 0);
  const refused =
    tagged.length > 0 && deps.tags
      ? await deps.tags.apply(
          tagged.map((g) => ({ line: g.line, userId: g.userId, ...g.tags })),
          new Date(now()),
        )
      : new Map<number, string[]>();
  const receivedAt = new Date(Date.parse(job.createdAt));
  const events = chunk.good
    .filter((g) => !refused.has(g.line) && Object.keys(g.traits).length > 0)
    .map((g) =>
      accepted(
        traitUpdateEvent({
          personKey: g.userId,
          traits: g.traits,
          door: 'import',
          sourceId: `import:${job.importId}`,
          origin: `line:${g.line}`,
          receivedAt,
        }),
      ),
    );
  if (events.length > 0) await deps.publish(events);
  const refusals = [...refused].map(([line, reasons]) => ({ line, reasons }));
  const listed = [...chunk.rejected, ...refusals].sort((a, b) => a.line - b.line);
  const saved: ImportJob = {
    ...job,
    nextByte: chunk.next.byte,
    nextLine: chunk.next.line,
    rows: job.rows + chunk.rows,
    applied: job.applied + chunk.good.length - refused.size,
    rejected: job.rejected + chunk.rejected.length + refused.size,
    rejections: [...job.rejections, ...listed].slice(0, IMPORT_LIMITS.listedRejections),
    updatedAt: new Date(now()).toISOString(),
  };
  await deps.imports.save(saved);
  return saved;
};

/**
 * The upload opened where the job resumes — past a CSV's header, at the recorded byte offset — or
 * why it cannot be: absent (not uploaded yet, or expired), or a reason to fail the job.
 */
const openUpload = async (deps: ImportDeps, job: ImportJob) => {
  const header = job.format === 'csv' ? await readHeader(deps.store, job.objectKey) : undefined;
  // A job saved before byte offsets were recorded resumes by line: from the first row, skipping.
  const from: ReadPosition =
    job.nextByte !== undefined ? { byte: job.nextByte, line: job.nextLine } : (header?.next ?? FILE_START);
  const file = await deps.store.read(job.objectKey, { from: from.byte });
  if (!file || (job.format === 'csv' && !header)) return { absent: true } as const;
  if (file.size > IMPORT_LIMITS.fileBytes)
    return { failure: `The file is over ${IMPORT_LIMITS.fileBytes} bytes: split it` } as const;
  const columns = header?.columns ?? [];
  const missing = header ? missingColumns(columns, job.mapping) : [];
  if (missing.length > 0)
    return { failure: `The header lacks the mapped column(s): ${missing.join(', ')}` } as const;
  return { file, from, columns, skipBefore: job.nextByte === undefined ? job.nextLine : 0 } as const;
};

/** Run one job until its file is applied or the deadline. Returns the job as saved. */
export const runImport = async (
  deps: ImportDeps,
  start: ImportJob,
  deadline: number,
): Promise<ImportJob | undefined> => {
  const clock = deps.clock ?? Date.now;
  const until = deadline + 60_000;
  if (!(await deps.imports.lease(start.importId, clock(), until))) return undefined;
  let job: ImportJob = { ...start, leaseUntil: until };
  // The upload held people's ids and values: it goes when the job ends, whatever the outcome
  // (the bucket's expiry is the backstop).
  const end = async (status: 'completed' | 'failed', error?: string) => {
    job = finish(job, status, clock(), error);
    await deps.imports.save(job, true);
    await deps.store.delete(job.objectKey);
    return job;
  };
  if (job.mapping.tags && !deps.tags) throw new Error('This runner cannot write tags');
  let upload: Awaited<ReturnType<typeof openUpload>>;
  try {
    upload = await openUpload(deps, job);
  } catch (error) {
    // A header that does not end within a record's bytes.
    if (error instanceof RecordTooLarge) return await end('failed', error.message);
    throw error;
  }
  if ('failure' in upload) return await end('failed', upload.failure);
  if ('absent' in upload) {
    if (job.status === 'running')
      return await end('failed', 'The upload is gone: the imports bucket expires files after 7 days');
    const expired = clock() - Date.parse(job.createdAt) > UPLOAD_WINDOW_MS;
    job = expired ? finish(job, 'expired', clock(), 'No file was uploaded within 24 hours') : job;
    await deps.imports.save(job, true);
    return job;
  }
  if (job.status === 'awaiting_upload')
    job = { ...job, status: 'running', startedAt: new Date(clock()).toISOString() };
  const ctx = await deps.traits();
  const chunkRows = deps.chunkRows ?? 500;
  let chunk = emptyChunk(upload.from);
  let unreadable: RecordTooLarge | undefined;
  try {
    for await (const records of readRecords(upload.file.body, job.format, upload.from))
      for (const record of records) {
        if (chunk.rows >= chunkRows) {
          job = await applyChunk(deps, job, chunk, clock);
          chunk = emptyChunk(chunk.next);
          if (clock() >= deadline) {
            await deps.imports.save(job, true);
            return job;
          }
        }
        chunk.next = record.next;
        if (record.line < upload.skipBefore) continue;
        chunk.rows++;
        const row = toRow(record, job.format, upload.columns);
        const outcome = rowUpdate(row, job, ctx);
        if (outcome.ok) chunk.good.push({ ...outcome, line: row.line });
        else chunk.rejected.push({ line: row.line, reasons: outcome.reasons });
      }
  } catch (error) {
    if (!(error instanceof RecordTooLarge)) throw error;
    unreadable = error;
  }
  // The rows read so far are applied; a file that cannot be read on (an unclosed quote) ends there.
  job = await applyChunk(deps, job, chunk, clock);
  return await end(unreadable ? 'failed' : 'completed', unreadable?.message);
};

/** Every active job, one after another, within the deadline. */
export const runImports = async (deps: ImportDeps, deadline: number): Promise<ImportJob[]> => {
  const done: ImportJob[] = [];
  for (const job of await deps.imports.active()) {
    if ((deps.clock ?? Date.now)() >= deadline) break;
    const out = await runImport(deps, job, deadline);
    if (out) done.push(out);
  }
  return done;
};
