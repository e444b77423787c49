/**
 * The local SqlEngine (analytics-engine.ts): DuckDB over the archive folder, in process. Jobs run
 * one at a time in the background, as Athena's would, and are kept in memory (the last
 * `MAX_JOBS`); their rows are the answer. Exports `COPY` into the exports folder.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENV } from '../../lib/config';
import type { SqlRow } from '../core/analytics';
import { ARCHIVE_COLUMNS, lit } from '../core/archive';
import type { JobStatus, SqlEngine } from './analytics-engine';
import { DuckArchive } from './duckdb-archive';
import { logger, MetricUnit, metrics } from './observability';

const MAX_JOBS = 500;
const PAGE_ROWS = 1000;

interface Job extends JobStatus {
  rows?: SqlRow[];
}

export class DuckEngine implements SqlEngine {
  private readonly jobs = new Map<string, Job>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly duck: DuckArchive,
    private readonly exportsDir: string,
  ) {}

  source(): string {
    return this.duck.source();
  }

  readonly fileColumn = 'filename';

  rewriteStatement(file: string, keep: string, prefix: string): string {
    const columns = ARCHIVE_COLUMNS.map((c) => c.name).join(', ');
    const target = join(this.duck.dir, prefix, 'part-0.parquet');
    mkdirSync(dirname(target), { recursive: true });
    return `COPY (SELECT ${columns} FROM read_parquet(${lit(file)}) WHERE ${keep}) TO ${lit(target)} (FORMAT parquet, COMPRESSION zstd)`;
  }

  exportStatement(select: string, prefix: string, format: 'parquet' | 'ndjson'): string {
    const file = join(this.exportsDir, prefix, format === 'parquet' ? 'part-0.parquet' : 'part-0.json');
    // S3 has no folders; DuckDB's COPY needs its own.
    mkdirSync(dirname(file), { recursive: true });
    const options = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT json';
    return `COPY (${select}) TO ${lit(file)} (${options})`;
  }

  async start(statement: string): Promise<string> {
    const id = randomUUID();
    const job: Job = { state: 'queued', statement, submittedAt: new Date().toISOString() };
    this.jobs.set(id, job);
    for (const old of this.jobs.keys()) {
      if (this.jobs.size <= MAX_JOBS) break;
      this.jobs.delete(old);
    }
    this.queue = this.queue.then(async () => {
      job.state = 'running';
      try {
        job.rows = await this.duck.query(statement);
        job.state = 'succeeded';
      } catch (error) {
        // The job keeps the cause for its poller; the operator sees it logged and counted.
        job.state = 'failed';
        job.error = (error as Error).message;
        logger.error('archive query failed', { queryId: id, error });
        metrics.addMetric('ArchiveQueryFailures', MetricUnit.Count, 1);
      }
      job.completedAt = new Date().toISOString();
    });
    return id;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    const { rows: _rows, ...status } = job;
    return { ...status };
  }

  /** Pages of at most PAGE_ROWS, as Athena's GetQueryResults gives them. */
  async *rows(id: string): AsyncIterable<SqlRow[]> {
    const rows = this.jobs.get(id)?.rows ?? [];
    for (let i = 0; i < rows.length; i += PAGE_ROWS) yield rows.slice(i, i + PAGE_ROWS);
  }
}

/** The local stack's engine: the archive folder, exports beside it (ENV.localExportsDir, else `<archive>/../exports`). */
export const localEngine = async (archiveDir: string): Promise<SqlEngine> =>
  new DuckEngine(
    await DuckArchive.open(archiveDir),
    process.env[ENV.localExportsDir] ?? join(archiveDir, '..', 'exports'),
  );
