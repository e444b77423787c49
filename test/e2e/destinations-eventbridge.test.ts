/**
 * An eventbridge destination over HTTP against the local stack: created through the API, an event
 * sent through the front door arrives in the bus's file as the event a rule's target receives; a bus
 * outside the stack's grant is refused when the destination is defined (IAM would refuse its events).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  // One more bus granted, as pulse:eventBuses does in AWS.
  e2e = await startE2E({ schedules: false, archive: false, env: { PULSE_EVENT_BUSES: 'orders' } });
});
afterAll(async () => {
  await e2e?.close();
});

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const bus = () => {
  const endpoint = e2e.stack.eventBridge.endpoint;
  if (!endpoint) throw new Error('the local stack started no PutEvents endpoint');
  return endpoint;
};

const define = (id: string, eventBusName: string) =>
  e2e.call(`/api/destinations/${id}`, {
    method: 'PUT',
    headers: admin(),
    json: {
      type: 'eventbridge',
      enabled: true,
      filter: { kinds: ['event'] },
      settings: { eventBusName, source: 'shop.pulse' },
      consentPurpose: 'analytics',
    },
  });

const track = async (userId: string) => {
  const event = validEvent('click', {
    userId,
    consentToken: await e2e.consent(userId),
    campaignId: 'spring',
  });
  const res = await e2e.call('/api/engagement/events', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey },
    json: { events: [event] },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return event.eventId as string;
};

describe('an eventbridge destination', () => {
  it('refuses a bus name EventBridge would not take, naming the field', async () => {
    const res = await define('bad-bus', 'not a bus');
    expect(res.status).toBe(400);
    expect((await json(res)).errors).toEqual([expect.objectContaining({ path: 'settings.eventBusName' })]);
  });

  it("puts a tracked event on the stack's bus, where the rule target's event lands in the bus file", async () => {
    const busName = e2e.stack.eventBridge.engagementBus;
    expect((await define('bus', busName)).status).toBe(201);
    const eventId = await track('eb-user-1');
    const event = await eventually(async () => {
      const found = bus()
        .events(busName)
        .find((e) => (e.detail as { id?: string }).id === eventId);
      if (!found) throw new Error('not on the bus yet');
      return found;
    });
    expect(event).toMatchObject({
      'detail-type': 'Pulse Event',
      source: 'shop.pulse',
      detail: { kind: 'event', userId: 'eb-user-1', event: { eventId, type: 'click', campaignId: 'spring' } },
    });
    const status = await json(await e2e.call('/api/destinations/bus/status', { headers: admin() }));
    expect(status.delivered).toBe(1);
  });

  it('refuses a bus outside the grant (pulse-engagement-local and PULSE_EVENT_BUSES), naming the field', async () => {
    expect((await define('orders', 'orders')).status).toBe(201);
    const res = await define('elsewhere', 'not-granted');
    expect(res.status).toBe(400);
    expect((await json(res)).errors).toEqual([
      expect.objectContaining({
        path: 'settings.eventBusName',
        message: expect.stringContaining('pulse-engagement-local, orders'),
      }),
    ]);
  });
});
