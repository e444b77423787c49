/**
 * The SQL engine over the archive, asynchronous as Athena is: start a statement, read its status,
 * page through its rows. Athena in AWS; DuckDB over the local archive folder on a laptop
 * (duckdb-engine.ts, chosen when ENV.localArchiveDir is set, and never bundled into a Lambda).
 *
 * A job is kept by the engine alone (Athena's query history; the local engine's memory): the
 * statement starts with a `-- pulse:<json>` comment naming what was asked, so an answer can be
 * shaped from the job itself, with no table of jobs.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { ENV } from '../../lib/config';
import type { SqlRow } from '../core/analytics';
import { ARCHIVE_COLUMNS, lit } from '../core/archive';
import { requireEnv } from './aws';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobStatus {
  state: JobState;
  /** The statement as started (its `-- pulse:` header included). */
  statement: string;
  error?: string;
  bytesScanned?: number;
  submittedAt?: string;
  completedAt?: string;
}

export interface SqlEngine {
  /** The events table, as the statements name it. */
  source(): string;
  /** The column naming the file a row was read from (Athena's `"$path"`, DuckDB's `filename`). */
  readonly fileColumn: string;
  /** A statement writing the rows of one archive file that `keep` admits under `prefix` of the archive bucket. */
  rewriteStatement(file: string, keep: string, prefix: string): string;
  /** A statement writing a SELECT's rows under `prefix` of the exports bucket (Athena UNLOAD, DuckDB COPY). */
  exportStatement(select: string, prefix: string, format: 'parquet' | 'ndjson'): string;
  start(statement: string): Promise<string>;
  /** Undefined for a job this engine does not know. */
  status(id: string): Promise<JobStatus | undefined>;
  /** The rows of a succeeded job, page by page. */
  rows(id: string): AsyncIterable<SqlRow[]>;
}

const HEADER = /^-- pulse:(.*)\n/;

/** `-- pulse:{…}` then the statement. */
export const taggedStatement = (tag: unknown, statement: string): string =>
  `-- pulse:${JSON.stringify(tag)}\n${statement}`;

/** The tag a statement was started with, or undefined for any other statement. */
export const statementTag = (statement: string): unknown => {
  const m = HEADER.exec(statement);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1] as string);
  } catch {
    return undefined;
  }
};

/** Start a statement and wait for it to end (erasure, a person's export); throws unless it succeeded. */
export const runToEnd = async (engine: SqlEngine, statement: string, timeoutMs = 20_000): Promise<string> => {
  const id = await engine.start(statement);
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; wait = Math.min(1_000, wait * 2)) {
    const status = await engine.status(id);
    if (status?.state === 'succeeded') return id;
    if (status?.state === 'failed' || status?.state === 'cancelled')
      throw new Error(`query ${id} ${status.state}: ${status.error ?? ''}`);
    if (Date.now() > deadline) throw new Error(`query ${id} still ${status?.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
};

/** Every row of a job (answers of analyses are small: their SQL aggregates). */
export const allRows = async (engine: SqlEngine, id: string): Promise<SqlRow[]> => {
  const out: SqlRow[] = [];
  for await (const page of engine.rows(id)) out.push(...page);
  return out;
};

const ATHENA_STATES: Record<string, JobState> = {
  QUEUED: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

/** Athena: the Glue table of the archive, queries in the stack's workgroup (results bucket, bytes cutoff). */
export class AthenaEngine implements SqlEngine {
  constructor(
    private readonly athena: AthenaClient,
    private readonly database: string,
    private readonly table: string,
    private readonly workgroup: string,
    private readonly exportsBucket: string,
    private readonly archiveBucket: string,
  ) {}

  source(): string {
    return `"${this.database}"."${this.table}"`;
  }

  readonly fileColumn = '"$path"';

  rewriteStatement(file: string, keep: string, prefix: string): string {
    const columns = ARCHIVE_COLUMNS.map((c) => c.name).join(', ');
    return `UNLOAD (SELECT ${columns} FROM ${this.source()} WHERE "$path" = ${lit(file)} AND ${keep}) TO 's3://${this.archiveBucket}/${prefix}' WITH (format = 'PARQUET', compression = 'SNAPPY')`;
  }

  exportStatement(select: string, prefix: string, format: 'parquet' | 'ndjson'): string {
    const options = format === 'parquet' ? "format = 'PARQUET', compression = 'SNAPPY'" : "format = 'JSON'";
    return `UNLOAD (${select}) TO 's3://${this.exportsBucket}/${prefix}' WITH (${options})`;
  }

  async start(statement: string): Promise<string> {
    const out = await this.athena.send(
      new StartQueryExecutionCommand({
        QueryString: statement,
        WorkGroup: this.workgroup,
        QueryExecutionContext: { Database: this.database },
      }),
    );
    return out.QueryExecutionId as string;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    try {
      const { QueryExecution: q } = await this.athena.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      // Another workgroup's query is none of this API's business.
      if (!q || q.WorkGroup !== this.workgroup) return undefined;
      const reason = q.Status?.StateChangeReason;
      return {
        state: ATHENA_STATES[q.Status?.State ?? 'QUEUED'] ?? 'queued',
        statement: q.Query ?? '',
        ...(reason ? { error: reason } : {}),
        ...(q.Statistics?.DataScannedInBytes !== undefined
          ? { bytesScanned: q.Statistics.DataScannedInBytes }
          : {}),
        ...(q.Status?.SubmissionDateTime ? { submittedAt: q.Status.SubmissionDateTime.toISOString() } : {}),
        ...(q.Status?.CompletionDateTime ? { completedAt: q.Status.CompletionDateTime.toISOString() } : {}),
      };
    } catch (error) {
      if ((error as Error).name === 'InvalidRequestException') return undefined;
      throw error;
    }
  }

  async *rows(id: string): AsyncIterable<SqlRow[]> {
    let token: string | undefined;
    let columns: string[] | undefined;
    do {
      const page = await this.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, NextToken: token }),
      );
      token = page.NextToken;
      const first = columns === undefined;
      columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name as string);
      const names = columns;
      // The first row of the first page is the header.
      const data = (page.ResultSet?.Rows ?? []).slice(first ? 1 : 0);
      yield data.map((r) => Object.fromEntries(names.map((n, i) => [n, r.Data?.[i]?.VarCharValue ?? null])));
    } while (token);
  }
}

let engine: Promise<SqlEngine> | undefined;

/** Not a literal: esbuild leaves it out of Lambda bundles (DuckDB is native and local only). */
const LOCAL_ENGINE = './duckdb-engine';

/** The container's engine: DuckDB over ENV.localArchiveDir when set (the local stack), else Athena. */
export const sqlEngine = (): Promise<SqlEngine> => {
  engine ??= (async () => {
    const localDir = process.env[ENV.localArchiveDir];
    if (localDir) {
      const { localEngine } = (await import(LOCAL_ENGINE)) as typeof import('./duckdb-engine');
      return localEngine(localDir);
    }
    return new AthenaEngine(
      new AthenaClient({}),
      requireEnv(ENV.archiveDatabase),
      requireEnv(ENV.archiveTable),
      requireEnv(ENV.athenaWorkgroup),
      requireEnv(ENV.exportsBucket),
      requireEnv(ENV.archiveBucket),
    );
  })();
  return engine;
};
