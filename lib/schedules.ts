/**
 * Scheduled functions: what runs on a timer, and how often. The CDK stack turns each into an
 * EventBridge schedule invoking the handler module's function; the local stack runs a timer per
 * entry (and `runSchedule(name)` on demand). Plain data, no aws-cdk-lib.
 *
 * The handler receives an EventBridge scheduled event; its `time` is the minute the run is for.
 */

import { archive } from './archive';

export interface ScheduleDef {
  /** Stable name: the rule's id in CDK, the timer's name locally. */
  readonly name: string;
  /** Handler module, relative to `functions/`, without extension; it exports `handler`. */
  readonly handler: string;
  readonly everyMinutes: number;
  readonly summary: string;
}

export const schedules = [
  {
    name: 'segments-sweep',
    handler: 'segments/sweep',
    everyMinutes: 1,
    summary: 'Re-evaluate segment rules whose outcome changed with time; advance rule backfills',
  },
  // Metrics day rollups: bounded reads for long day-granularity reports.
  {
    name: 'metrics-compact',
    handler: 'metrics/compact',
    everyMinutes: 30,
    summary: 'Roll closed days of campaign counters up into one item per day (and late writes again)',
  },
  // Archive (docs/archive.md): erasure's partition rewrites, within lib/archive.ts erasure.boundHours.
  {
    name: 'archive-erasure',
    handler: 'archive/erasure',
    everyMinutes: archive.erasure.everyMinutes,
    summary: "Rewrite the archive's partitions that hold erased persons' rows, without them",
  },
  // Destinations (docs/destinations.md): retries from the outbox, replays; campaign alerts.
  {
    name: 'destinations-redrive',
    handler: 'destinations/redrive',
    everyMinutes: 1,
    summary: 'Deliver outbox messages that came due (retries, triggers) and advance replays',
  },
  {
    name: 'alerts-evaluate',
    handler: 'alerts/evaluate',
    everyMinutes: 5,
    summary: 'Evaluate campaign alerts against their thresholds and baselines; fire the ones that hold',
  },
  // experiments v2: bandits
  {
    name: 'experiments-bandit',
    handler: 'experiments/bandit',
    everyMinutes: 30,
    summary: "Reallocate running bandits' weights by Thompson sampling on their primary metric",
  },
  // traits: CRM connectors (docs/traits.md)
  {
    name: 'crm-sync',
    handler: 'traits/crm-sync',
    everyMinutes: 5,
    summary: "Pull CRM contacts changed since each due connector's cursor into traits",
  },
  {
    name: 'imports',
    handler: 'traits/import-runner',
    everyMinutes: 1,
    summary: 'Apply uploaded bulk imports of traits and tags, resuming each at the byte offset it reached',
  },
] as const satisfies readonly ScheduleDef[];

export type ScheduleName = (typeof schedules)[number]['name'];
