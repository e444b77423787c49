/**
 * Scheduled functions: what runs on a timer, and how often. The CDK stack turns each into an
 * EventBridge schedule invoking the handler module's function; the local stack runs a timer per
 * entry (and `runSchedule(name)` on demand). Plain data, no aws-cdk-lib.
 *
 * The handler receives an EventBridge scheduled event; its `time` is the minute the run is for.
 */

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
    summary: 'Apply uploaded bulk imports of traits, resuming each at the line it reached',
  },
] as const satisfies readonly ScheduleDef[];

export type ScheduleName = (typeof schedules)[number]['name'];
