/**
 * The archive on a laptop: Parquet files in a folder, laid out as in S3
 * (`events/dt=YYYY-MM-DD/hour=HH/*.parquet`, functions/core/archive.ts), written and queried with
 * DuckDB in process. The SQL is the same the Athena engine runs (functions/core/analytics.ts);
 * only the table expression differs: here a `read_parquet` of the folder, partition columns from
 * the Hive-style paths, read as text (as the Glue table declares them).
 *
 * Not bundled into Lambda: DuckDB is a native module, used by the local stack, tests and bench.
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { SqlRow } from '../core/analytics';
import {
  ARCHIVE_COLUMNS,
  ARCHIVE_EVENTS_PREFIX,
  type ArchiveRow,
  lit,
  partitionOf,
  partitionPrefix,
} from '../core/archive';

const DUCK_TYPES = { string: 'VARCHAR', bigint: 'BIGINT' } as const;

/** An empty relation with the archive's columns: what a folder with no file yet reads as. */
const EMPTY_EVENTS = `(SELECT ${[
  ...ARCHIVE_COLUMNS.map((c) => `CAST(NULL AS ${DUCK_TYPES[c.type]}) AS ${c.name}`),
  'CAST(NULL AS VARCHAR) AS dt',
  'CAST(NULL AS VARCHAR) AS hour',
  'CAST(NULL AS VARCHAR) AS filename',
].join(', ')} WHERE false)`;

/** Parquet files under a folder, recursively. */
export const parquetFiles = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => join(dir, f));
};

/** Archive columns are text and bigint: bigints as numbers (epoch ms fit), the rest as they are. */
const plain = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

let fileSeq = 0;

/** A file name no other writer of this process (or of the same millisecond elsewhere) picks. */
export const parquetFileName = (now = Date.now()): string =>
  `pulse-${now}-${process.pid}-${(fileSeq++).toString(36)}.parquet`;

export class DuckArchive {
  private constructor(
    /** The archive folder (what the bucket is in AWS). */
    readonly dir: string,
    private readonly connection: DuckDBConnection,
    private readonly instance: DuckDBInstance,
  ) {}

  static async open(dir: string): Promise<DuckArchive> {
    const instance = await DuckDBInstance.create(':memory:');
    return new DuckArchive(dir, await instance.connect(), instance);
  }

  get eventsDir(): string {
    return join(this.dir, ARCHIVE_EVENTS_PREFIX);
  }

  /** The events table expression for the SQL of functions/core/analytics.ts. */
  source(): string {
    if (parquetFiles(this.eventsDir).length === 0) return EMPTY_EVENTS;
    const glob = join(this.eventsDir, '*', '*', '*.parquet');
    return `read_parquet(${lit(glob)}, hive_partitioning = true, hive_types_autocast = false, union_by_name = true, filename = true)`;
  }

  async query(sql: string): Promise<SqlRow[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as SqlRow[];
  }

  /** Rows of a query in pages, without holding the whole answer in memory. */
  async *pages(sql: string, size: number): AsyncIterable<SqlRow[]> {
    const result = await this.connection.stream(sql);
    const names = result.columnNames();
    let page: SqlRow[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const values of chunk.getRows())
        page.push(Object.fromEntries(names.map((n, i) => [n, plain(values[i])])));
      while (page.length >= size) {
        yield page.slice(0, size);
        page = page.slice(size);
      }
    }
    if (page.length > 0) yield page;
  }

  /** Write rows to one Parquet file (written aside, then renamed: readers never see half a file). */
  async writeParquet(rows: readonly ArchiveRow[], file: string): Promise<void> {
    mkdirSync(dirname(file), { recursive: true });
    const table = `batch_${(fileSeq++).toString(36)}`;
    const columns = ARCHIVE_COLUMNS.map((c) => `${c.name} ${DUCK_TYPES[c.type]}`).join(', ');
    await this.connection.run(`CREATE TEMP TABLE ${table} (${columns})`);
    try {
      const appender = await this.connection.createAppender(table);
      for (const row of rows) {
        for (const c of ARCHIVE_COLUMNS) {
          const v = row[c.name];
          if (v === null || v === undefined) appender.appendNull();
          else if (c.type === 'bigint') appender.appendBigInt(BigInt(v));
          else appender.appendVarchar(String(v));
        }
        appender.endRow();
      }
      appender.closeSync();
      const partial = `${file}.partial`;
      await this.connection.run(
        `COPY ${table} TO ${lit(partial)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`,
      );
      renameSync(partial, file);
    } finally {
      await this.connection.run(`DROP TABLE ${table}`);
    }
  }

  /** Rows grouped by partition, each group to a new file in its partition folder; the files written. */
  async writePartitioned(rows: readonly ArchiveRow[], now = Date.now()): Promise<string[]> {
    const byPartition = new Map<string, ArchiveRow[]>();
    for (const row of rows) {
      const prefix = partitionPrefix(partitionOf(row));
      byPartition.set(prefix, [...(byPartition.get(prefix) ?? []), row]);
    }
    const files: string[] = [];
    for (const [prefix, group] of byPartition) {
      const file = join(this.dir, prefix, parquetFileName(now));
      await this.writeParquet(group, file);
      files.push(file);
    }
    return files;
  }

  /** `COPY (sql) TO file`: an export in Parquet or newline-delimited JSON. */
  async copyTo(sql: string, file: string, format: 'parquet' | 'ndjson'): Promise<void> {
    mkdirSync(dirname(file), { recursive: true });
    const options = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT json';
    const partial = `${file}.partial`;
    await this.connection.run(`COPY (${sql}) TO ${lit(partial)} (${options})`);
    renameSync(partial, file);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
