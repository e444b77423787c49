/**
 * The redrive's two steps, apart from its handler so tests run them against the emulators with
 * their own clock, transport and archive: drain what came due, advance replays.
 */
import type { DestinationsRepository, ReplayJob } from '../adapters/destinations-repository';
import { LEASE_MS, type OutboxRepository } from '../adapters/outbox-repository';
import { type Destination, matchesFilter } from '../core/destinations/definition';
import { eventMessage } from '../core/destinations/delivery';
import { type ArchivedEvents, nextSlice } from '../core/destinations/replay';
import { type DeliverDeps, deliverRound, type Round } from './deliver';

/** Messages taken per round: one vendor batch or a few, within a round's time. */
export const ROUND_SIZE = 500;

export interface DrainResult {
  destinationId: string;
  attempted: number;
  delivered: number;
  /** How long past its due time the oldest message taken waited, in seconds. */
  overdueSeconds: number;
  paused?: true;
}

/** Delivers, destination by destination, what the due index holds until nothing is due or the deadline. */
export const drainDue = async (args: {
  deps: DeliverDeps;
  list: readonly Destination[];
  now: Date;
  deadline: number;
  onRound?: (destinationId: string, round: Round) => void;
}): Promise<DrainResult[]> => {
  const { deps, now } = args;
  return Promise.all(
    args.list.map(async (d): Promise<DrainResult> => {
      const result: DrainResult = {
        destinationId: d.destinationId,
        attempted: 0,
        delivered: 0,
        overdueSeconds: 0,
      };
      while (Date.now() < args.deadline) {
        if (await deps.destinations.isPaused(d.destinationId)) return { ...result, paused: true };
        const due = await deps.outbox.due(d.destinationId, now, ROUND_SIZE);
        if (due.length === 0) break;
        const oldest = Date.parse(due[0]?.dueAt as string);
        result.overdueSeconds = Math.max(result.overdueSeconds, Math.round((now.getTime() - oldest) / 1000));
        const lease = new Date(now.getTime() + LEASE_MS);
        const claimed = (
          await Promise.all(due.map(async (i) => ((await deps.outbox.claim(i, lease)) ? i : undefined)))
        ).filter((i) => i !== undefined);
        if (claimed.length === 0) break;
        const round = await deliverRound(deps, d, claimed, now, lease);
        args.onRound?.(d.destinationId, round);
        result.attempted += claimed.length;
        result.delivered += round.delivered;
        // What was retried is due later than now; what is left due is the next round's.
        if (due.length < ROUND_SIZE) break;
      }
      return result;
    }),
  );
};

export interface ReplayStep {
  destinationId: string;
  replayId: string;
  enqueued: number;
  status: ReplayJob['status'];
}

/**
 * One or more slices of each running replay: the archive's events in the slice that match the
 * destination's filter are enqueued due now (re-enqueueing what was delivered before: vendors
 * deduplicate on the event id), and the cursor moves past the slice.
 */
export const stepReplays = async (
  deps: {
    destinations: DestinationsRepository;
    outbox: OutboxRepository;
    archive: ArchivedEvents | undefined;
  },
  list: readonly Destination[],
  now: Date,
  deadline: number,
): Promise<ReplayStep[]> => {
  const steps: ReplayStep[] = [];
  for (const d of list) {
    for (const job of (await deps.destinations.replays(d.destinationId)).filter(
      (j) => j.status === 'running',
    )) {
      let current = job;
      if (!deps.archive) {
        current = {
          ...job,
          status: 'failed',
          error: 'No event archive is configured',
          finishedAt: now.toISOString(),
        };
      } else {
        for (
          let slice = nextSlice(current.cursor, current.to);
          slice && Date.now() < deadline;
          slice = nextSlice(current.cursor, current.to)
        ) {
          let enqueued = 0;
          for await (const events of deps.archive.read(slice.from, slice.to)) {
            const entries = events
              .map(eventMessage)
              .filter((m) =>
                matchesFilter(d, {
                  kind: 'event',
                  ...(m.event?.type !== undefined && { type: m.event.type }),
                  ...(m.event?.campaignId !== undefined && { campaignId: m.event.campaignId }),
                  ...(m.event?.channel !== undefined && { channel: m.event.channel }),
                }),
              )
              .map((message) => ({ destinationId: d.destinationId, message }));
            enqueued += (await deps.outbox.enqueue(entries, now, now, { replay: true })).length;
          }
          current = { ...current, cursor: slice.to.toISOString(), enqueued: current.enqueued + enqueued };
          await deps.destinations.saveReplay(current);
        }
        if (nextSlice(current.cursor, current.to) === undefined)
          current = { ...current, status: 'done', finishedAt: now.toISOString() };
      }
      await deps.destinations.saveReplay(current);
      steps.push({
        destinationId: d.destinationId,
        replayId: job.replayId,
        enqueued: current.enqueued - job.enqueued,
        status: current.status,
      });
    }
  }
  return steps;
};
