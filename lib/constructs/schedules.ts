import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { ScheduleDef } from '../schedules';
import { pascal } from './tables';

/** Scheduled functions run long jobs in bounded slices; the handler stops its slice before this. */
export const SCHEDULE_SIZING = { memorySize: 512, timeout: Duration.seconds(120) } as const;

/** EventBridge's bound on a target's maximum event age (RetryPolicy.MaximumEventAgeInSeconds). */
const MAX_EVENT_AGE = Duration.hours(24);

export interface SchedulesProps {
  readonly schedules: readonly ScheduleDef[];
  /** The function serving a schedule's handler module. */
  readonly functionFor: (handlerModule: string) => lambda.IFunction;
}

/**
 * One EventBridge rule per lib/schedules.ts entry, invoking its handler module's function at the
 * declared rate with the whole scheduled event (the handler reads its `time`).
 */
export class Schedules extends Construct {
  /** By schedule name. */
  readonly rules: ReadonlyMap<string, events.Rule>;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const rules = new Map<string, events.Rule>();
    for (const def of props.schedules) {
      if (!Number.isInteger(def.everyMinutes) || def.everyMinutes < 1) {
        throw new Error(
          `lib/schedules.ts: '${def.name}' must run every whole number of minutes (1 or more), ` +
            `got ${def.everyMinutes}`,
        );
      }
      if (rules.has(def.name)) throw new Error(`lib/schedules.ts: two schedules are named '${def.name}'`);
      const period = Duration.minutes(def.everyMinutes);
      const rule = new events.Rule(this, pascal(def.name), {
        description: `Pulse ${def.name}: ${def.summary}`,
        schedule: events.Schedule.rate(period),
      });
      rule.addTarget(
        new targets.LambdaFunction(props.functionFor(def.handler), {
          // A run not delivered by the time the next one fires is superseded by it: do not deliver
          // it late (EventBridge would keep trying for a day by default).
          maxEventAge: period.toSeconds() < MAX_EVENT_AGE.toSeconds() ? period : MAX_EVENT_AGE,
        }),
      );
      rules.set(def.name, rule);
    }
    this.rules = rules;
  }
}
