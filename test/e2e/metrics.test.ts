import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../functions/adapters/pagination';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(() => e2e?.close());

const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });

describe('events over HTTP to the metrics endpoint', () => {
  it('counts every accepted event once, client retries included', async () => {
    const hour = new Date(Date.now() - 2 * 3600_000);
    hour.setUTCMinutes(0, 0, 0);
    const at = (minutes: number) => new Date(hour.getTime() + (10 + minutes) * 60_000).toISOString();
    const events = [
      validEvent('click', {
        eventId: 'm-1',
        userId: 'alice',
        campaignId: 'summer',
        timestamp: at(0),
        deviceType: 'mobile',
        channel: 'ios',
      }),
      validEvent('view', {
        eventId: 'm-2',
        userId: 'bob',
        campaignId: 'summer',
        timestamp: at(1),
        deviceType: 'desktop',
        channel: 'web',
      }),
      validEvent('view', {
        eventId: 'm-3',
        anonymousId: 'anon-9',
        userId: undefined,
        campaignId: 'summer',
        timestamp: at(70),
        deviceType: 'desktop',
        channel: 'web',
      }),
      validEvent('conversion', {
        eventId: 'm-4',
        userId: 'alice',
        campaignId: 'summer',
        timestamp: at(71),
        deviceType: 'mobile',
        channel: 'ios',
      }),
      validEvent('click', {
        eventId: 'w-1',
        userId: 'carol',
        campaignId: 'winter',
        timestamp: at(2),
        deviceType: 'tv',
        channel: 'web',
      }),
    ];
    const tokens = Object.fromEntries(
      await Promise.all(['alice', 'bob', 'anon-9', 'carol'].map(async (id) => [id, await e2e.consent(id)])),
    );
    for (const e of events) e.consentToken = tokens[(e.userId ?? e.anonymousId) as string];
    const send = (batch: unknown[]) =>
      e2e.call('/api/engagement/events', {
        method: 'POST',
        headers: { 'x-api-key': e2e.writeKey },
        json: { events: batch },
      });
    expect((await send(events)).status).toBe(202);
    // The client did not see the answer and sends part of it again: same ids, counted once.
    expect((await send(events.slice(0, 2))).status).toBe(202);

    const from = new Date(hour.getTime() - 3600_000).toISOString();
    const to = new Date(hour.getTime() + 3 * 3600_000).toISOString();
    const report = await eventually(async () => {
      const res = await e2e.call(`/api/metrics/campaigns/summer?from=${from}&to=${to}&granularity=hour`, {
        headers: analyst(),
      });
      const body = await json(res);
      expect(res.status).toBe(200);
      expect(body.events).toBe(4);
      return body;
    });
    expect(report.totals).toEqual({ click: 1, view: 2, share: 0, 'video-play': 0, conversion: 1, custom: 0 });
    expect(report.uniqueUsers).toBe(3);
    expect(report.byDeviceType).toEqual({ mobile: 2, desktop: 2 });
    expect(report.byChannel).toEqual({ ios: 2, web: 2 });
    expect(report.series).toHaveLength(4);
    expect(report.series[1]).toEqual({
      start: `${hour.toISOString().slice(0, 13)}:00:00Z`,
      counts: expect.objectContaining({ click: 1, view: 1 }),
      uniqueUsers: 2,
    });
    expect(report.series[2].uniqueUsers).toBe(2);
    expect(report.rates).toEqual({ clickThrough: 0.5, conversion: 1, conversionsPerPerson: 0.3333 });
    expect(report.series[2].counts).toMatchObject({ view: 1, conversion: 1 });

    // Day granularity: the same answer once compaction has rolled the days up (run as if days later).
    const day = hour.toISOString().slice(0, 10);
    const dayOffset = (d: number) => new Date(Date.parse(day) + d * 86_400_000).toISOString().slice(0, 10);
    const dayReport = async () =>
      json(
        await e2e.call(
          `/api/metrics/campaigns/summer?from=${dayOffset(-1)}&to=${dayOffset(2)}&granularity=day`,
          { headers: analyst() },
        ),
      );
    const rawDays = await dayReport();
    expect(rawDays.events).toBe(4);
    const compacted = (await e2e.stack.runSchedule('metrics-compact', {
      time: new Date(Date.now() + 3 * 86_400_000),
    })) as { days: number };
    expect(compacted.days).toBeGreaterThan(0);
    expect(await dayReport()).toEqual(rawDays);

    const list = await e2e.call('/api/metrics/campaigns?limit=1', { headers: analyst() });
    const page = await json(list);
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = await json(
      await e2e.call(`/api/metrics/campaigns?cursor=${page.nextCursor}`, { headers: analyst() }),
    );
    const all = [...page.items, ...rest.items];
    expect(all.map((c: { campaignId: string }) => c.campaignId).sort()).toEqual(['summer', 'winter']);
    expect(all.find((c: { campaignId: string }) => c.campaignId === 'winter').totals.click).toBe(1);

    // Sorted by last activity (the default): summer's last events are an hour after winter's.
    const recent = await json(await e2e.call('/api/metrics/campaigns', { headers: analyst() }));
    expect(recent.items.map((c: { campaignId: string }) => c.campaignId)).toEqual(['summer', 'winter']);
    const summer = recent.items[0];
    expect(summer.lastActivity).toBe(new Date(hour.getTime() + 90 * 60_000).toISOString());
    expect(summer.uniqueUsers).toBe(3);
    expect(summer.sparkline).toHaveLength(7);
    expect(summer.sparkline.reduce((n: number, d: { events: number }) => n + d.events, 0)).toBe(4);
    expect(recent.window).toMatchObject({ days: 7, tz: 'UTC' });
    const byId = await json(
      await e2e.call('/api/metrics/campaigns?sort=campaignId&order=desc&days=1', { headers: analyst() }),
    );
    expect(byId.items.map((c: { campaignId: string }) => c.campaignId)).toEqual(['winter', 'summer']);
    const fewest = await json(
      await e2e.call('/api/metrics/campaigns?sort=uniqueUsers&order=asc', { headers: analyst() }),
    );
    expect(fewest.items.map((c: { uniqueUsers: number }) => c.uniqueUsers)).toEqual([1, 3]);
  });

  it('answers bad queries with the parameter named, and unknown campaigns with 404', async () => {
    const bad = await e2e.call(
      '/api/metrics/campaigns/summer?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      { headers: analyst() },
    );
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors[0].path).toBe('from');
    const zone = await e2e.call('/api/metrics/campaigns/summer?tz=Nowhere/City', { headers: analyst() });
    expect((await json(zone)).errors[0].path).toBe('tz');
    const cursor = await e2e.call('/api/metrics/campaigns?cursor=garbage', { headers: analyst() });
    expect(cursor.status).toBe(400);
    // Well-formed, but from another partition: DynamoDB would refuse the Query; the client gets 400.
    const foreign = encodeCursor({ pk: 'rules', sk: 'x' });
    expect((await e2e.call(`/api/metrics/campaigns?cursor=${foreign}`, { headers: analyst() })).status).toBe(
      400,
    );
    const unknown = await e2e.call('/api/metrics/campaigns/never-seen', { headers: analyst() });
    expect(unknown.status).toBe(404);
  });
});
