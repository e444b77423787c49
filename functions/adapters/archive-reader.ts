/**
 * Where replay finds the raw archive (functions/core/destinations/replay.ts ArchivedEvents): the
 * archive's own reader (archive-store.ts archivedEvents, Athena in AWS, DuckDB over the local
 * folder), when the function's environment names an archive. Tests may pass their own.
 */
import { ENV } from '../../lib/config';
import type { ArchivedEvents } from '../core/destinations/replay';
import { sqlEngine } from './analytics-engine';
import { archivedEvents as archivedPages } from './archive-store';

let configured: ArchivedEvents | undefined;

const fromEnv = (env: NodeJS.ProcessEnv): ArchivedEvents | undefined =>
  env[ENV.localArchiveDir] || env[ENV.archiveDatabase]
    ? {
        // The archive selects by event date (its `dt` partitions); the slice is cut to the instant.
        read: async function* (from, to) {
          const days = { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
          for await (const page of archivedPages(await sqlEngine(), days)) {
            const kept = page.filter((e) => {
              const at = Date.parse(e.eventTime);
              return at >= from.getTime() && at < to.getTime();
            });
            if (kept.length > 0) yield kept;
          }
        },
      }
    : undefined;

/** The archive reader, when the stack has an archive. */
export const archivedEvents = (env: NodeJS.ProcessEnv = process.env): ArchivedEvents | undefined =>
  configured ?? fromEnv(env);

/** For tests: a reader of their own (undefined: the environment's again). */
export const useArchive = (archive: ArchivedEvents | undefined): void => {
  configured = archive;
};
