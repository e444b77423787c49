/**
 * The archive as a store (docs/archive.md): reading archived events back (`archivedEvents`, the
 * reader replays and other consumers use), and the archive's part of privacy — a person's export,
 * and erasure by partition rewrite.
 *
 * Keys in the archive bucket:
 *
 *   events/dt=YYYY-MM-DD/hour=HH/<file>.parquet   the archive (Firehose; the local Firehose)
 *   erasure/pending/<time>-<uuid>.json             an erasure waiting for its rewrite: { ids, requestedAt }
 *   erasure/staging/<run>/<n>/…                     a file rewritten without erased rows, before it moves in
 *   errors/…                                       records Firehose could not process (expiring)
 *
 * Parquet files are immutable, so erasure rewrites each file holding a person's rows without them
 * (the new file is written first, then the old one deleted: queries deduplicate by event id, so
 * the moment both exist counts nothing twice). It runs on a schedule after Firehose's buffer has
 * had time to land what was in flight (the erasure markers stop anything newer at the
 * transformation), so a person's rows are gone within `archive.erasure.boundHours`.
 */
import { randomUUID } from 'node:crypto';
import { archive } from '../../lib/archive';
import type { SqlRow } from '../core/analytics';
import { archiveSelectSql, canonicalFromRow, personFilter } from '../core/archive';
import type { CanonicalEvent } from '../core/events';
import { runToEnd, type SqlEngine } from './analytics-engine';
import type { ObjectStore } from './object-store';
import type { PersonalDataStore } from './personal-data';

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const ERASURE_PENDING_PREFIX = 'erasure/pending/';
const ERASURE_STAGING_PREFIX = 'erasure/staging/';

/**
 * Archived canonical events between two dates (inclusive, UTC), oldest first, in pages: what a
 * replay to a new destination reads. Each event once, as the read models counted it.
 */
export async function* archivedEvents(
  engine: SqlEngine,
  range: { from: string; to: string; types?: readonly string[] },
  options: { timeoutMs?: number } = {},
): AsyncIterable<CanonicalEvent[]> {
  const id = await runToEnd(engine, archiveSelectSql(engine.source(), range), options.timeoutMs ?? 300_000);
  for await (const page of engine.rows(id)) if (page.length > 0) yield page.map(canonicalFromRow);
}

/** When an erasure requested at `at` is complete in the archive. */
export const archiveErasureCompleteBy = (at: Date): string =>
  new Date(at.getTime() + archive.erasure.boundHours * 3_600_000).toISOString();

/** What the archive's store needs; a function without the archive bucket has none. */
export interface ArchiveDeps {
  engine: () => Promise<SqlEngine>;
  bucket: ObjectStore;
  /** Days the archive keeps events (pulse:retentionDays): how far back a person's export looks. */
  retentionDays: number;
  now?: () => Date;
}

export class ArchivePersonalData implements PersonalDataStore {
  readonly name = 'archive';
  readonly tables = [] as const;

  constructor(private readonly deps: ArchiveDeps | undefined) {}

  private now(): Date {
    return this.deps?.now?.() ?? new Date();
  }

  /**
   * Every archived event of these ids (each once), over the whole retention period — except ids
   * already erased whose rows wait for the rewrite: erased data is not handed out again.
   */
  async export(ids: readonly string[]): Promise<unknown[]> {
    if (!this.deps) return [];
    const pending = await this.pendingIds();
    const live = ids.filter((id) => !pending.has(id));
    if (live.length === 0) return [];
    ids = live;
    const engine = await this.deps.engine();
    const now = this.now().getTime();
    const sql = archiveSelectSql(engine.source(), {
      from: day(now - this.deps.retentionDays * DAY_MS),
      to: day(now + DAY_MS),
      ids,
    });
    const out: CanonicalEvent[] = [];
    for await (const page of engine.rows(await runToEnd(engine, sql)))
      out.push(...page.map(canonicalFromRow));
    return out;
  }

  /** Ids of erasures not yet rewritten. */
  private async pendingIds(): Promise<Set<string>> {
    const out = new Set<string>();
    if (!this.deps) return out;
    for await (const o of this.deps.bucket.list(ERASURE_PENDING_PREFIX)) {
      const body = JSON.parse((await this.deps.bucket.getText(o.key)) ?? '{}') as { ids?: string[] };
      for (const id of body.ids ?? []) out.add(id);
    }
    return out;
  }

  /** Queues the rewrite (the `archive-erasure` schedule does it); the rows go by `eraseCompleteBy`. */
  async erase(ids: readonly string[]): Promise<number> {
    if (!this.deps) return 0;
    const at = this.now();
    await this.deps.bucket.put(
      `${ERASURE_PENDING_PREFIX}${at.toISOString()}-${randomUUID()}.json`,
      JSON.stringify({ ids, requestedAt: at.toISOString() }),
      'application/json',
    );
    return 0;
  }

  eraseCompleteBy(at: Date): string {
    return archiveErasureCompleteBy(at);
  }
}

export interface RewriteOutcome {
  requests: number;
  filesRewritten: number;
  rowsRemoved: number;
  /** False when the deadline came first: the requests stay, the next run goes on. */
  complete: boolean;
}

/**
 * The scheduled rewrite: every pending erasure old enough (Firehose has landed what it held), at
 * once — the files holding any of their ids' rows are rewritten without them, then the requests
 * (which name the ids) are deleted. A failure leaves the requests for the next run.
 */
export const rewriteErased = async (
  engine: SqlEngine,
  bucket: ObjectStore,
  now: Date,
  options: { settleMs?: number; deadline?: number } = {},
): Promise<RewriteOutcome> => {
  const settleMs = options.settleMs ?? archive.erasure.settleMinutes * 60_000;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const requests: { key: string; ids: string[] }[] = [];
  for await (const o of bucket.list(ERASURE_PENDING_PREFIX)) {
    if (now.getTime() - o.lastModified.getTime() < settleMs) continue;
    const body = JSON.parse((await bucket.getText(o.key)) ?? '{}') as { ids?: string[] };
    requests.push({ key: o.key, ids: body.ids ?? [] });
  }
  const ids = [...new Set(requests.flatMap((r) => r.ids))];
  if (ids.length === 0) {
    for (const r of requests) await bucket.delete(r.key);
    return { requests: requests.length, filesRewritten: 0, rowsRemoved: 0, complete: true };
  }
  const found = await engine.rows(
    await runToEnd(
      engine,
      `SELECT ${engine.fileColumn} AS file, count(*) AS n FROM ${engine.source()} WHERE ${personFilter(ids)} GROUP BY ${engine.fileColumn}`,
      600_000,
    ),
  );
  const files: SqlRow[] = [];
  for await (const page of found) files.push(...page);
  const run = `${now.toISOString()}-${randomUUID()}`;
  let rowsRemoved = 0;
  let filesRewritten = 0;
  for (const [n, f] of files.entries()) {
    // A file already rewritten holds no erased row: the next run finds only the rest.
    if (Date.now() > deadline)
      return { requests: requests.length, filesRewritten, rowsRemoved, complete: false };
    const file = String(f.file);
    const key = objectKeyOf(file, bucket);
    const staging = `${ERASURE_STAGING_PREFIX}${run}/${n}/`;
    await runToEnd(engine, engine.rewriteStatement(file, `NOT ${personFilter(ids)}`, staging), 600_000);
    // New file(s) into the same partition first, then the old one goes.
    const partition = key.slice(0, key.lastIndexOf('/') + 1);
    for await (const staged of bucket.list(staging)) {
      const bytes = await bucket.get(staged.key);
      if (bytes && bytes.length > 0)
        await bucket.put(`${partition}erased-${run}-${n}-${staged.key.split('/').pop()}`, bytes);
      await bucket.delete(staged.key);
    }
    await bucket.delete(key);
    rowsRemoved += Number(f.n);
    filesRewritten++;
  }
  for (const r of requests) await bucket.delete(r.key);
  return { requests: requests.length, filesRewritten, rowsRemoved, complete: true };
};

/** An engine's file name (`s3://bucket/key` in Athena, a path locally) → the key in the archive bucket. */
const objectKeyOf = (file: string, bucket: ObjectStore): string => {
  if (file.startsWith('s3://')) return file.slice(`s3://${bucket.bucket}/`.length);
  const i = file.indexOf('events/');
  if (i < 0) throw new Error('an archive file outside events/');
  return file.slice(i).split('\\').join('/');
};
