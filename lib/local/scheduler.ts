/**
 * EventBridge schedules for the local stack: a timer per schedule of lib/schedules.ts invoking its
 * handler module with a scheduled event, as the deployed rule does. A run never overlaps another
 * run of the same schedule (a tick that finds one running is skipped); `run(name)` invokes one now,
 * after any run in flight, so tests can drive time-dependent work without waiting a minute.
 */

import { randomUUID } from 'node:crypto';
import type { ScheduleDef } from '../schedules';
import { type HandlerResolver, invokeHandler, LOCAL_ACCOUNT_ID, localFunctionName } from './lambda';

export interface SchedulerOptions {
  schedules: readonly ScheduleDef[];
  resolveHandler: HandlerResolver;
  region: string;
  /** Start a timer per schedule; without, schedules run only through `run`. */
  timers: boolean;
  logger: Pick<Console, 'error'>;
}

export interface Scheduler {
  /** Invoke a schedule's handler now; `time` is the scheduled event's time (default: now). */
  run(name: string, options?: { time?: Date }): Promise<unknown>;
  /** Stop the timers and wait for runs in flight. */
  stop(): Promise<void>;
}

/** An EventBridge scheduled event, as Lambda receives it. */
export const scheduledEvent = (schedule: ScheduleDef, time: Date, region: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: LOCAL_ACCOUNT_ID,
  time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region,
  resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/pulse-local-${schedule.name}`],
  detail: {},
});

export const startScheduler = (options: SchedulerOptions): Scheduler => {
  const inFlight = new Map<string, Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];

  const invoke = async (schedule: ScheduleDef, time: Date) => {
    const handler = await options.resolveHandler(schedule.handler);
    const { result } = await invokeHandler(handler, scheduledEvent(schedule, time, options.region), {
      handlerModule: schedule.handler,
      functionName: localFunctionName(schedule.handler),
      region: options.region,
      // A run may take its period (the next is due then), and a minute at least, like the function.
      timeoutMs: Math.max(60_000, schedule.everyMinutes * 60_000),
    });
    return result;
  };

  const track = (schedule: ScheduleDef, run: Promise<unknown>) => {
    const settled = run.catch(() => undefined);
    inFlight.set(schedule.name, settled);
    void settled.then(() => {
      if (inFlight.get(schedule.name) === settled) inFlight.delete(schedule.name);
    });
    return run;
  };

  if (options.timers)
    for (const schedule of options.schedules) {
      const timer = setInterval(() => {
        if (inFlight.has(schedule.name)) return;
        track(schedule, invoke(schedule, new Date())).catch((error: unknown) => {
          options.logger.error(`[local scheduler] ${schedule.name} failed:`, error);
        });
      }, schedule.everyMinutes * 60_000);
      timer.unref();
      timers.push(timer);
    }

  return {
    run: async (name, { time } = {}) => {
      const schedule = options.schedules.find((s) => s.name === name);
      if (!schedule) throw new Error(`Unknown schedule ${name} (see lib/schedules.ts)`);
      const previous = inFlight.get(name);
      return track(
        schedule,
        (async () => {
          await previous;
          return invoke(schedule, time ?? new Date());
        })(),
      );
    },
    stop: async () => {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await Promise.all(inFlight.values());
    },
  };
};
