/**
 * Destinations over HTTP against the local stack: a webhook destination pointed at a receiver that
 * verifies every Standard Webhooks signature; events, a segment entry and a campaign alert arrive;
 * a withdrawn person's events stop; an erased person's queued messages vanish. The stream
 * consumers run as in `npm start`; the schedules are driven by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarterOf, quarterStartMs } from '../../functions/core/time-buckets';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';
import { type FakeWebhook, startFakeWebhook } from '../support/fake-vendors/webhook';

let e2e: E2E;
let receiver: FakeWebhook;
let secret: string | undefined;
beforeAll(async () => {
  // Firehose's buffering shortened, so replays find the archived events soon.
  e2e = await startE2E({
    schedules: false,
    archive: { buffering: { sizeBytes: 1024 * 1024, intervalMs: 300 } },
  });
  receiver = await startFakeWebhook(() => secret);
});
afterAll(async () => {
  await e2e?.close();
  await receiver?.close();
});

const admin = () => ({ authorization: `Bearer ${e2e.admin}` });
const redrive = (time?: Date) => e2e.stack.runSchedule('destinations-redrive', time ? { time } : {});
const status = async () => json(await e2e.call('/api/destinations/hook/status', { headers: admin() }));
const received = (userId: string) =>
  receiver.messages.filter((m) => m.userId === userId || m.personKey === userId);

const track = async (userId: string, n: number, consentToken?: string) => {
  const token = consentToken ?? (await e2e.consent(userId));
  const events = Array.from({ length: n }, () =>
    validEvent('click', { userId, consentToken: token, campaignId: 'spring' }),
  );
  const res = await e2e.call('/api/engagement/events', {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey },
    json: { events },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return { token, ids: events.map((e) => e.eventId as string) };
};

describe('a webhook destination', () => {
  it('refuses bad settings with the field path', async () => {
    const res = await e2e.call('/api/destinations/bad', {
      method: 'PUT',
      headers: admin(),
      json: { type: 'webhook', enabled: true, settings: { url: 'not a url' }, consentPurpose: 'analytics' },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).errors).toEqual([expect.objectContaining({ path: 'settings.url' })]);
  });

  it('is created with a generated signing secret, shown once and never again', async () => {
    const res = await e2e.call('/api/destinations/hook', {
      method: 'PUT',
      headers: admin(),
      json: {
        type: 'webhook',
        enabled: true,
        filter: { kinds: ['event', 'segment.entered', 'segment.left', 'alert'] },
        settings: { url: `${receiver.url}/pulse` },
        consentPurpose: 'analytics',
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = await json(res);
    secret = body.signingSecret;
    expect(secret).toMatch(/^whsec_/);
    const listed = await e2e.call('/api/destinations', { headers: admin() });
    const one = await e2e.call('/api/destinations/hook', { headers: admin() });
    for (const r of [listed, one]) {
      expect(r.status).toBe(200);
      expect(await r.text()).not.toContain(secret?.slice(6));
    }
    expect(
      (await json(await e2e.call('/api/destinations/hook', { headers: admin() }))).credentialFields,
    ).toEqual(['signingSecret']);
  });

  it('receives accepted, consented events, every request signed', async () => {
    const { ids } = await track('ann', 3);
    await eventually(async () => {
      expect(
        received('ann')
          .map((m) => m.event?.eventId)
          .sort(),
      ).toEqual([...ids].sort());
    });
    expect(receiver.unverified).toBe(0);
    // The delivered count is written after the vendor answered.
    await eventually(async () => expect((await status()).delivered).toBeGreaterThanOrEqual(3));
  });

  it('receives a segment entry', async () => {
    const res = await e2e.call('/api/users/ann/tags', {
      method: 'POST',
      headers: admin(),
      json: { tags: ['vip'] },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await eventually(async () => {
      await redrive();
      expect(
        received('ann')
          .filter((m) => m.kind === 'segment.entered')
          .map((m) => m.segment),
      ).toEqual(['vip']);
    });
    expect(receiver.unverified).toBe(0);
  });

  it('receives a campaign alert', async () => {
    const put = await e2e.call('/api/alerts/spring-clicks', {
      method: 'PUT',
      headers: { authorization: `Bearer ${e2e.analyst}` },
      json: {
        campaignId: 'spring',
        metric: 'click',
        windowMinutes: 15,
        condition: { op: 'above', threshold: 0 },
      },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    await e2e.drained();
    // Evaluated just after the quarter-hour holding ann's clicks closed: that quarter is the window
    // (not "now + 15 minutes", which misses them when a quarter boundary fell in between).
    const clickedAt = received('ann')[0]?.at as string;
    const later = new Date(quarterStartMs(quarterOf(clickedAt)) + 15 * 60_000 + 1000);
    await e2e.stack.runSchedule('alerts-evaluate', { time: later });
    await eventually(async () => {
      await redrive(later);
      const alerts = receiver.messages.filter((m) => m.kind === 'alert');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.alert).toMatchObject({
        alertId: 'spring-clicks',
        campaignId: 'spring',
        metric: 'click',
      });
    });
  });

  it("stops a withdrawn person's events", async () => {
    const { token, ids: before } = await track('bob', 2);
    await eventually(async () => expect(received('bob')).toHaveLength(2));
    const dropped = (await status()).consentDropped;
    const withdraw = await e2e.call('/api/users/bob/consent', {
      method: 'PUT',
      headers: { 'x-api-key': e2e.writeKey },
      json: { purposes: { analytics: false }, policyVersion: 'test-1' },
    });
    expect(withdraw.status).toBe(200);
    // Sent with the token bob held before withdrawing: accepted at the door, stopped on the way out.
    const res = await e2e.call('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: {
        events: [
          validEvent('click', { userId: 'bob', consentToken: token }),
          validEvent('click', { userId: 'bob', consentToken: token }),
        ],
      },
    });
    expect(res.status).toBe(202);
    // Counted per attempt: a redelivered record is judged (and counted) again.
    await eventually(async () => expect((await status()).consentDropped).toBeGreaterThanOrEqual(dropped + 2));
    await e2e.drained();
    await redrive();
    expect(
      received('bob')
        .map((m) => m.event?.eventId)
        .sort(),
    ).toEqual([...before].sort());
  });

  it("drops an erased person's queued messages", async () => {
    // The receiver is down: carl's events wait in the outbox.
    receiver.faults.push(...Array.from({ length: 50 }, () => ({ status: 503 })));
    const retryingBefore = (await status()).retrying;
    await track('carl', 3);
    await eventually(async () => expect((await status()).retrying).toBe(retryingBefore + 3));
    const erased = await e2e.call('/api/users/carl', { method: 'DELETE', headers: admin() });
    expect(erased.status).toBe(200);
    expect((await json(erased)).deleted.outbox).toBe(3);
    expect((await status()).retrying).toBe(retryingBefore);
    // Back up, the next redrive (hours later) has nothing of carl's to send.
    receiver.faults.length = 0;
    await redrive(new Date(Date.now() + 4 * 3_600_000));
    expect(received('carl')).toEqual([]);
  });

  it('answers status: counts, lag, last errors, and resumes', async () => {
    const s = await status();
    expect(s).toMatchObject({ destinationId: 'hook', enabled: true, dead: 0 });
    expect(s.lastErrors.length).toBeGreaterThan(0);
    expect(s.lastErrors[0].error).toContain('503');
    const resumed = await e2e.call('/api/destinations/hook/resume', { method: 'POST', headers: admin() });
    expect(resumed.status).toBe(200);
    const missing = await e2e.call('/api/destinations/nope/status', { headers: admin() });
    expect(missing.status).toBe(404);
  });

  it('replays a range from the archive to a destination created after it', async () => {
    const { ids } = await track('rita', 2);
    await eventually(async () =>
      expect(
        received('rita')
          .map((m) => m.event?.eventId)
          .sort(),
      ).toEqual([...ids].sort()),
    );
    // A new destination sees only what arrives after it; a replay brings it the past.
    let lateSecret: string | undefined;
    const late = await startFakeWebhook(() => lateSecret);
    try {
      const created = await e2e.call('/api/destinations/late', {
        method: 'PUT',
        headers: admin(),
        json: {
          type: 'webhook',
          enabled: true,
          filter: { kinds: ['event'] },
          settings: { url: `${late.url}/pulse` },
          consentPurpose: 'analytics',
        },
      });
      expect(created.status).toBe(201);
      lateSecret = (await json(created)).signingSecret;
      const range = {
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      };
      const backwards = await e2e.call('/api/destinations/late/replays', {
        method: 'POST',
        headers: admin(),
        json: { from: range.to, to: range.from },
      });
      expect(backwards.status).toBe(400);
      const replay = await e2e.call('/api/destinations/late/replays', {
        method: 'POST',
        headers: admin(),
        json: range,
      });
      expect(replay.status, await replay.clone().text()).toBe(202);
      // The local Firehose flushes every 300 ms; a redrive (once its destination list has the new
      // one) reads the archive and sends the range.
      await eventually(async () => {
        await redrive();
        const replayed = late.messages.filter((m) => m.userId === 'rita' || m.personKey === 'rita');
        expect([...new Set(replayed.map((m) => m.event?.eventId))].sort()).toEqual([...ids].sort());
      }, 40_000);
      expect(late.unverified).toBe(0);
    } finally {
      await late.close();
    }
  }, 90_000);
});
