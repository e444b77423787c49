/**
 * Erasure forwarded to a webhook destination over HTTP against the local stack: a person whose
 * events reached the receiver (and some still wait in the outbox) is erased; their waiting messages
 * are gone at once, and the next redrive sends the receiver a signed `person.erased` naming their
 * ids; the erasure's status follows it from requested to delivered, without the ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';
import { type FakeWebhook, startFakeWebhook } from '../support/fake-vendors/webhook';

let e2e: E2E;
let receiver: FakeWebhook;
let secret: string | undefined;
beforeAll(async () => {
  e2e = await startE2E({ schedules: false });
  receiver = await startFakeWebhook(() => secret);
});
afterAll(async () => {
  await e2e?.close();
  await receiver?.close();
});

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const redrive = (time?: Date) => e2e.stack.runSchedule('destinations-redrive', time ? { time } : {});
const status = async () => json(await e2e.call('/api/destinations/eraser/status', { headers: admin() }));
const received = (userId: string) => receiver.messages.filter((m) => m.userId === userId);

const track = async (userId: string, n: number, token: string) => {
  const events = Array.from({ length: n }, () =>
    validEvent('click', { userId, consentToken: token, campaignId: 'spring' }),
  );
  const res = await e2e.call('/api/engagement/events', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey },
    json: { events },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return events.map((e) => e.eventId as string);
};

describe('erasure forwarded to a webhook destination', () => {
  it('sends a signed person.erased after purging the outbox, and reports it per destination', async () => {
    const created = await e2e.call('/api/destinations/eraser', {
      method: 'PUT',
      headers: admin(),
      json: {
        type: 'webhook',
        enabled: true,
        settings: { url: `${receiver.url}/pulse` },
        consentPurpose: 'analytics',
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    secret = (await json(created)).signingSecret;

    const token = await e2e.consent('dora');
    const delivered = await track('dora', 2, token);
    await eventually(async () =>
      expect(
        received('dora')
          .map((m) => m.event?.eventId)
          .sort(),
      ).toEqual([...delivered].sort()),
    );
    // The receiver goes down: two more wait in the outbox.
    receiver.faults.push(...Array.from({ length: 20 }, () => ({ status: 503 })));
    const retryingBefore = (await status()).retrying;
    await track('dora', 2, token);
    await eventually(async () => expect((await status()).retrying).toBe(retryingBefore + 2));
    receiver.faults.length = 0;

    const erased = await e2e.call('/api/users/dora', { method: 'DELETE', headers: admin() });
    expect(erased.status, await erased.clone().text()).toBe(200);
    const answer = await json(erased);
    expect(answer.deleted.outbox).toBe(2);
    expect(answer.forwarded).toEqual({ eraser: 'requested' });
    expect(answer.erasureId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await status()).retrying).toBe(retryingBefore);

    const erasure = () => e2e.call(`/api/erasures/${answer.erasureId}`, { headers: admin() });
    expect((await json(await erasure())).destinations).toEqual([
      expect.objectContaining({ destinationId: 'eraser', type: 'webhook', status: 'requested', attempts: 0 }),
    ]);

    await eventually(async () => {
      await redrive();
      expect(receiver.erasures.map((e) => e.erasureId)).toContain(answer.erasureId);
    });
    expect(receiver.unverified).toBe(0);
    expect(receiver.erasures.find((e) => e.erasureId === answer.erasureId)).toMatchObject({
      personKey: 'dora',
      ids: expect.arrayContaining(['dora']),
    });
    // The receiver acted on it; Pulse sends dora's waiting events never again.
    expect(received('dora')).toEqual([]);
    await redrive(new Date(Date.now() + 4 * 3_600_000));
    expect(received('dora')).toEqual([]);

    const after = await erasure();
    expect(after.status).toBe(200);
    const body = await after.text();
    expect(JSON.parse(body).destinations).toEqual([
      expect.objectContaining({ destinationId: 'eraser', status: 'delivered', attempts: 1 }),
    ]);
    expect(body).not.toContain('dora');
  });

  it('answers 404 for an unknown erasure and 400 for a malformed id', async () => {
    const unknown = await e2e.call('/api/erasures/00000000-0000-4000-8000-000000000000', {
      headers: admin(),
    });
    expect(unknown.status).toBe(404);
    const bad = await e2e.call('/api/erasures/not-an-id', { headers: admin() });
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors).toEqual([expect.objectContaining({ path: 'erasureId' })]);
    const analyst = await e2e.call('/api/erasures/00000000-0000-4000-8000-000000000000', {
      headers: { authorization: `Bearer ${e2e.analyst}` },
    });
    expect(analyst.status).toBe(403);
  });
});
