/** The local stand-in for EventBridge schedules: timers, scheduled events, no overlapping runs. */
import { describe, expect, it, vi } from 'vitest';
import { scheduledEvent, startScheduler } from '../../lib/local/scheduler';
import type { ScheduleDef } from '../../lib/schedules';

const quick: ScheduleDef = {
  name: 'quick',
  handler: 'jobs/quick',
  everyMinutes: 0.001,
  summary: 'every 60 ms',
};
const logger = { error: vi.fn() };

/** A handler that records its events and takes `ms` per run. */
const recorder = (ms = 0) => {
  const events: { time: string; source: string }[] = [];
  let running = 0;
  let overlapped = false;
  const handler = async (event: { time: string; source: string }) => {
    running++;
    if (running > 1) overlapped = true;
    events.push(event);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    return { ran: events.length };
  };
  return { events, handler, overlapped: () => overlapped };
};

describe('local scheduler', () => {
  it('builds the scheduled event EventBridge sends', () => {
    const event = scheduledEvent(quick, new Date('2026-06-10T15:30:00.123Z'), 'us-east-1');
    expect(event).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-06-10T15:30:00Z',
      region: 'us-east-1',
      resources: [expect.stringMatching(/:rule\/pulse-local-quick$/)],
      detail: {},
    });
  });

  it('runs each schedule on its timer, never two runs of one schedule at once', async () => {
    const r = recorder(150);
    const scheduler = startScheduler({
      schedules: [quick],
      resolveHandler: async () => r.handler,
      region: 'us-east-1',
      timers: true,
      logger,
    });
    await vi.waitFor(() => expect(r.events.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    await scheduler.stop();
    const count = r.events.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(r.events.length).toBe(count); // stopped
    expect(r.overlapped()).toBe(false);
    expect(r.events[0]?.source).toBe('aws.events');
  });

  it('runs one on demand, at a given time, after any run in flight, and reports failures', async () => {
    const r = recorder(50);
    const scheduler = startScheduler({
      schedules: [quick],
      resolveHandler: async () => r.handler,
      region: 'us-east-1',
      timers: false,
      logger,
    });
    const time = new Date('2030-01-01T00:00:00Z');
    const [a, b] = await Promise.all([scheduler.run('quick', { time }), scheduler.run('quick')]);
    expect([a, b]).toEqual([{ ran: 1 }, { ran: 2 }]);
    expect(r.events[0]?.time).toBe('2030-01-01T00:00:00Z');
    expect(r.overlapped()).toBe(false);
    await expect(scheduler.run('nope')).rejects.toThrow(/Unknown schedule nope/);

    const failing = startScheduler({
      schedules: [quick],
      resolveHandler: async () => () => Promise.reject(new Error('boom')),
      region: 'us-east-1',
      timers: false,
      logger,
    });
    await expect(failing.run('quick')).rejects.toThrow('boom');
    await failing.stop();
    await scheduler.stop();
  });
});
