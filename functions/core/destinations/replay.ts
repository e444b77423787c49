/**
 * Replay: a destination receives again the events of a past window, read from the raw archive —
 * for a destination added after the fact, or after an outage. Pure: the archive is an interface
 * (the archive's reader implements it), and a replay advances in slices so a scheduled run can stop
 * and the next one go on; each slice is enqueued whole, and enqueueing is idempotent per event id,
 * so a slice read twice (a run cut short) sends nothing twice.
 */
import * as z from 'zod/mini';
import type { CanonicalEvent } from '../events';
import { isoTimeSchema } from '../events';

/** The raw archive, as replay needs it: every accepted event with an event time in [from, to). */
export interface ArchivedEvents {
  read(from: Date, to: Date): AsyncIterable<CanonicalEvent[]>;
}

/** One slice per step: an hour of events is what one scheduled run surely reads and enqueues. */
export const REPLAY_SLICE_MS = 3_600_000;
/** The widest window one replay may ask for. */
export const MAX_REPLAY_DAYS = 400;

export const replayBodySchema = z.strictObject({ from: isoTimeSchema, to: isoTimeSchema }).check(
  z.refine((b) => Date.parse(b.from) < Date.parse(b.to), { message: 'from must be before to', path: ['to'] }),
  z.refine((b) => Date.parse(b.to) - Date.parse(b.from) <= MAX_REPLAY_DAYS * 86_400_000, {
    message: `At most ${MAX_REPLAY_DAYS} days`,
    path: ['to'],
  }),
);
export type ReplayBody = z.infer<typeof replayBodySchema>;

/** The next slice after `cursor`, or undefined when the window is done. */
export const nextSlice = (cursor: string, to: string): { from: Date; to: Date } | undefined => {
  const start = Date.parse(cursor);
  const end = Date.parse(to);
  if (start >= end) return undefined;
  return { from: new Date(start), to: new Date(Math.min(end, start + REPLAY_SLICE_MS)) };
};

/** An archive held in memory (tests, and a window handed over whole): events in [from, to) by event time. */
export const memoryArchive = (events: readonly CanonicalEvent[], pageSize = 500): ArchivedEvents => ({
  async *read(from, to) {
    const inWindow = events.filter((e) => {
      const t = Date.parse(e.eventTime);
      return t >= from.getTime() && t < to.getTime();
    });
    for (let i = 0; i < inWindow.length; i += pageSize) yield inWindow.slice(i, i + pageSize);
  },
});
