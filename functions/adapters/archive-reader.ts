/**
 * Where replay finds the raw archive (functions/core/destinations/replay.ts ArchivedEvents).
 *
 * MERGE POINT: the raw archive (S3 Parquet, DuckDB locally) is built by another change. Its reader
 * plugs in here — return an ArchivedEvents over it — and grants its access to
 * `destinations/redrive` in lib/access.ts. Until then there is no archive, and
 * `POST /api/destinations/{id}/replays` answers 409 saying so. Tests pass their own (memoryArchive).
 */
import type { ArchivedEvents } from '../core/destinations/replay';

let configured: ArchivedEvents | undefined;

/** The archive reader, when the stack has an archive. */
export const archivedEvents = (): ArchivedEvents | undefined => configured;

/** For the archive's reader to register itself (and for tests). */
export const useArchive = (archive: ArchivedEvents | undefined): void => {
  configured = archive;
};
