/**
 * Running bulk imports (functions/core/imports.ts for the file and the rows): a job waits for its
 * upload, then runs in chunks — each chunk's trait updates go to the stream (the consumer applies
 * them like any identify), then the job records the next line and its counts — until the file is
 * done or the run's deadline; the next run resumes at the recorded line. A chunk sent twice (a run
 * that died before its checkpoint) is applied once: each row's event id is derived from the job,
 * the line and what it sets. Once done, the upload is deleted.
 *
 * Reports and logs hold line numbers, counts and field names, never values or ids.
 */
import type { ImportJob, ImportsRepository } from '../adapters/imports-repository';
import type { ObjectStore } from '../adapters/object-store';
import { IMPORT_LIMITS, missingColumns, readRows, rowUpdate } from '../core/imports';
import { type Accepted, accepted } from '../core/ingest';
import { type TraitContext, traitUpdateEvent } from '../core/traits';

export interface ImportDeps {
  imports: ImportsRepository;
  store: ObjectStore;
  traits: () => Promise<TraitContext>;
  publish: (events: readonly Accepted[]) => Promise<void>;
  clock?: () => number;
  /** Rows per stream write and checkpoint. */
  chunkRows?: number;
}

/** An upload not made within this long expires the job. */
export const UPLOAD_WINDOW_MS = 24 * 3600_000;

const finish = (job: ImportJob, status: ImportJob['status'], now: number, error?: string): ImportJob => ({
  ...job,
  status,
  finishedAt: new Date(now).toISOString(),
  updatedAt: new Date(now).toISOString(),
  ...(error !== undefined && { error }),
});

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
  const text = await deps.store.getText(job.objectKey);
  if (text === undefined) {
    const expired = clock() - Date.parse(job.createdAt) > UPLOAD_WINDOW_MS;
    job = expired ? finish(job, 'expired', clock(), 'No file was uploaded within 24 hours') : job;
    await deps.imports.save(job, true);
    return job;
  }
  if (Buffer.byteLength(text) > IMPORT_LIMITS.fileBytes) {
    job = finish(job, 'failed', clock(), `The file is over ${IMPORT_LIMITS.fileBytes} bytes: split it`);
    await deps.imports.save(job, true);
    return job;
  }
  if (job.format === 'csv') {
    const missing = missingColumns(text, job.mapping);
    if (missing.length > 0) {
      job = finish(job, 'failed', clock(), `The header lacks the mapped column(s): ${missing.join(', ')}`);
      await deps.imports.save(job, true);
      return job;
    }
  }
  if (job.status === 'awaiting_upload')
    job = { ...job, status: 'running', startedAt: new Date(clock()).toISOString() };
  const ctx = await deps.traits();
  const chunkRows = deps.chunkRows ?? 500;
  const receivedAt = new Date(Date.parse(job.createdAt));
  let events: Accepted[] = [];
  let pending = { rows: 0, rejected: 0, rejections: [] as ImportJob['rejections'] };
  let lastLine = job.nextLine;

  const checkpoint = async (nextLine: number) => {
    if (events.length > 0) await deps.publish(events);
    job = {
      ...job,
      nextLine,
      rows: job.rows + pending.rows,
      applied: job.applied + events.length,
      rejected: job.rejected + pending.rejected,
      rejections: [...job.rejections, ...pending.rejections].slice(0, IMPORT_LIMITS.listedRejections),
      updatedAt: new Date(clock()).toISOString(),
    };
    await deps.imports.save(job);
    events = [];
    pending = { rows: 0, rejected: 0, rejections: [] };
  };

  for (const row of readRows(text, job.format, job.nextLine)) {
    if (pending.rows >= chunkRows) {
      await checkpoint(row.line);
      if (clock() >= deadline) {
        await deps.imports.save(job, true);
        return job;
      }
    }
    pending.rows++;
    lastLine = row.line;
    const outcome = rowUpdate(row, job, ctx);
    if (!outcome.ok) {
      pending.rejected++;
      if (job.rejections.length + pending.rejections.length < IMPORT_LIMITS.listedRejections)
        pending.rejections.push({ line: row.line, reasons: outcome.reasons });
      continue;
    }
    events.push(
      accepted(
        traitUpdateEvent({
          personKey: outcome.userId,
          traits: outcome.traits,
          door: 'import',
          sourceId: `import:${job.importId}`,
          origin: `line:${row.line}`,
          receivedAt,
        }),
      ),
    );
  }
  await checkpoint(lastLine + 1);
  job = finish(job, 'completed', clock());
  await deps.imports.save(job, true);
  // The upload held people's ids and values: it goes once applied (the bucket's expiry is the backstop).
  await deps.store.delete(job.objectKey);
  return job;
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
