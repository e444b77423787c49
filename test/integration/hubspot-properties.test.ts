/**
 * Pulse creates the contact properties a HubSpot `properties` destination writes, against the fake
 * HubSpot's Properties API (groups, batch create, 409 on duplicates, 403 without the schema scope),
 * and the upserts the fake refuses before (unknown properties) land after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHubspotProperties, type Send } from '../../functions/adapters/hubspot-properties';
import { sendRequest } from '../../functions/adapters/vendor-transport';
import { eventMessage } from '../../functions/core/destinations/delivery';
import { hubspotPropertyDefinitions } from '../../functions/core/destinations/hubspot-properties';
import { vendorFor } from '../../functions/core/destinations/vendors';
import { sampleEvent } from '../support/destinations';
import { type FakeHubspot, startFakeHubspot } from '../support/fake-vendors/hubspot';

let hub: FakeHubspot;
beforeAll(async () => {
  hub = await startFakeHubspot('hub-token');
});
afterAll(async () => {
  await hub.close();
});

const calls: string[] = [];
const send: Send = async (r, timeoutMs) => {
  calls.push(r.url.slice(hub.url.length));
  return sendRequest(r, timeoutMs);
};
const ensure = (audiences: string[], token = 'hub-token') =>
  ensureHubspotProperties({ baseUrl: hub.url }, token, audiences, send);

const reset = () => {
  calls.length = 0;
  hub.scopes.add('crm.schemas.contacts.write');
  hub.faults.length = 0;
  for (const name of [...hub.properties.keys()]) if (name.startsWith('pulse_')) hub.properties.delete(name);
  hub.groups.delete('pulse_audiences');
};

describe('HubSpot contact properties created by Pulse', () => {
  it('creates the group and every property in one batch; an upsert the portal refused before then lands', async () => {
    reset();
    const deliver = async () => {
      const hubspot = vendorFor('hubspot');
      const p = hubspot.prepare(
        { mode: 'properties', baseUrl: hub.url },
        { accessToken: 'hub-token' },
        [
          {
            ...eventMessage(sampleEvent({ personKey: 'ann@example.com', userId: 'ann@example.com' })),
            kind: 'segment.entered',
            segment: 'pro_plan',
          },
        ],
        new Date(),
      ).requests[0];
      return [
        ...hubspot.interpret(p as never, await sendRequest(p?.request as never, 2000), Date.now()).values(),
      ];
    };
    const before = await deliver();
    expect(before).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^400 PROPERTY_DOESNT_EXIST: HubSpot has no contact property pulse_last_campaign, .*pulse_segment_pro_plan;/,
        ),
      },
    ]);
    expect(before[0]).toMatchObject({ reason: expect.not.stringContaining('ann@') });

    expect(await ensure(['pro_plan', 'vip'])).toEqual({ kind: 'done' });
    expect(calls).toEqual(['/crm/v3/properties/contacts/groups', '/crm/v3/properties/contacts/batch/create']);
    expect(hub.groups.has('pulse_audiences')).toBe(true);
    expect(hub.properties.get('pulse_segment_pro_plan')).toMatchObject({
      type: 'bool',
      fieldType: 'booleancheckbox',
      groupName: 'pulse_audiences',
      label: 'Pulse segment: pro_plan',
    });
    expect(await deliver()).toEqual([{ kind: 'delivered' }]);
    expect(hub.contacts.get('ann@example.com')).toMatchObject({ pulse_segment_pro_plan: 'true' });
  });

  it('is idempotent: saving again, or with one more audience, treats "already exists" as success', async () => {
    reset();
    expect(await ensure(['pro_plan'])).toEqual({ kind: 'done' });
    const count = hub.properties.size;
    calls.length = 0;
    expect(await ensure(['pro_plan'])).toEqual({ kind: 'done' });
    expect(hub.properties.size).toBe(count);
    expect(await ensure(['pro_plan', 'gold'])).toEqual({ kind: 'done' });
    expect(hub.properties.size).toBe(count + 1);
    expect(hub.properties.has('pulse_segment_gold')).toBe(true);
  });

  it('a batch refused whole with 409 falls back to creating each property, existing ones counting as done', async () => {
    reset();
    expect(await ensure([])).toEqual({ kind: 'done' });
    calls.length = 0;
    // The group answers 409 (exists); then the batch is refused whole, as a portal may answer.
    hub.faults.push({ status: 200 }, { status: 409, body: '{"category":"CONFLICT"}' });
    expect(await ensure(['late'])).toEqual({ kind: 'done' });
    const wanted = hubspotPropertyDefinitions(['late']).map((d) => d.name);
    expect(calls.slice(2)).toEqual(wanted.map(() => '/crm/v3/properties/contacts'));
    for (const name of wanted) expect(hub.properties.has(name)).toBe(true);
  });

  it('without the schema scope: 403 read as a credentials problem naming the scope; nothing created', async () => {
    reset();
    hub.scopes.delete('crm.schemas.contacts.write');
    expect(await ensure(['vip'])).toEqual({
      kind: 'credentials',
      message: expect.stringContaining('crm.schemas.contacts.write'),
    });
    expect(hub.groups.has('pulse_audiences')).toBe(false);
    expect([...hub.properties.keys()].some((n) => n.startsWith('pulse_'))).toBe(false);
  });

  it('a token HubSpot does not know is a credentials problem; an outage is a failure to retry', async () => {
    reset();
    expect(await ensure(['vip'], 'wrong')).toMatchObject({
      kind: 'credentials',
      message: expect.stringContaining('401'),
    });
    hub.faults.push({ status: 503 });
    expect(await ensure(['vip'])).toMatchObject({ kind: 'failed', message: expect.stringContaining('503') });
  });

  it('stays within its time budget when HubSpot does not answer', async () => {
    reset();
    hub.faults.push({ hang: true });
    const started = Date.now();
    expect(
      await ensureHubspotProperties({ baseUrl: hub.url }, 'hub-token', ['vip'], send, 300),
    ).toMatchObject({
      kind: 'failed',
      message: expect.stringContaining('timeout'),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
