import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VendorAnswer } from '../../functions/core/destinations/delivery';
import { eventMessage, type OutboundMessage } from '../../functions/core/destinations/delivery';
import {
  batchCreateRequests,
  createPropertyRequest,
  HUBSPOT_PROPERTIES_PER_BATCH,
  HUBSPOT_PROPERTY_GROUP,
  hubspotPropertyDefinitions,
  missingProperties,
  propertyGroupRequest,
  readPropertiesAnswer,
} from '../../functions/core/destinations/hubspot-properties';
import { hubspotSegmentProperty, vendorFor } from '../../functions/core/destinations/vendors';
import { sampleEvent } from '../support/destinations';

const answer = (status: number, body: unknown = {}): VendorAnswer => ({
  status,
  headers: {},
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const json = (r: { body: string }) => JSON.parse(r.body);

describe('HubSpot contact properties Pulse creates', () => {
  it('a single-checkbox property per audience, in the pulse_audiences group, beside the pulse_last_* ones', () => {
    const defs = hubspotPropertyDefinitions(['pro_plan', 'vip-tier:gold', 'pro_plan']);
    expect(defs.map((d) => d.name)).toEqual([
      'pulse_last_seen_at',
      'pulse_last_event',
      'pulse_last_campaign',
      'pulse_last_segment_change',
      'pulse_segment_pro_plan',
      'pulse_segment_vip_tier_gold',
    ]);
    expect(defs.every((d) => d.groupName === HUBSPOT_PROPERTY_GROUP)).toBe(true);
    expect(defs.find((d) => d.name === 'pulse_segment_vip_tier_gold')).toMatchObject({
      type: 'bool',
      fieldType: 'booleancheckbox',
      label: 'Pulse segment: vip-tier:gold',
      options: [
        { value: 'true', label: 'Yes' },
        { value: 'false', label: 'No' },
      ].map((o) => expect.objectContaining(o)),
    });
  });

  it('defines every property the codec writes, for any audiences', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_:-]{0,20}$/), { maxLength: 20 }),
        fc.boolean(),
        (audiences, entered) => {
          const messages: OutboundMessage[] = [
            eventMessage(
              sampleEvent({ personKey: 'a@example.com', userId: 'a@example.com', campaignId: 'c' }),
            ),
            ...audiences.map(
              (segment): OutboundMessage => ({
                ...eventMessage(sampleEvent({ personKey: 'a@example.com', userId: 'a@example.com' })),
                kind: entered ? 'segment.entered' : 'segment.left',
                segment,
                event: undefined,
              }),
            ),
          ];
          const prepared = vendorFor('hubspot').prepare(
            { mode: 'properties' },
            { accessToken: 't' },
            messages,
            new Date(),
          );
          const written = new Set(
            prepared.requests.flatMap((p) =>
              (json(p.request).inputs as { properties: object }[]).flatMap((i) => Object.keys(i.properties)),
            ),
          );
          const defined = new Set(hubspotPropertyDefinitions(audiences).map((d) => d.name));
          for (const name of written) expect(defined).toContain(name);
          for (const s of audiences) expect(defined).toContain(hubspotSegmentProperty(s));
        },
      ),
    );
  });

  it('builds the group, batch and single create requests of the v3 Properties API', () => {
    const group = propertyGroupRequest('https://hub.test', 'tok');
    expect(group).toMatchObject({
      url: 'https://hub.test/crm/v3/properties/contacts/groups',
      method: 'POST',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
    });
    expect(json(group)).toMatchObject({ name: 'pulse_audiences', label: 'Pulse audiences' });
    const many = Array.from({ length: HUBSPOT_PROPERTIES_PER_BATCH + 3 }, (_, i) => `s${i}`);
    const batches = batchCreateRequests(undefined, 'tok', hubspotPropertyDefinitions(many));
    expect(batches.map((b) => b.url)).toEqual(
      Array(2).fill('https://api.hubapi.com/crm/v3/properties/contacts/batch/create'),
    );
    expect(batches.map((b) => json(b).inputs.length)).toEqual([HUBSPOT_PROPERTIES_PER_BATCH, 7]);
    const [first] = hubspotPropertyDefinitions([]);
    expect(createPropertyRequest(undefined, 'tok', first as never).url).toBe(
      'https://api.hubapi.com/crm/v3/properties/contacts',
    );
  });

  it('reads answers: created or already there is done; a batch 409 falls back; 401/403 name the credentials', () => {
    expect(readPropertiesAnswer(answer(201))).toEqual({ kind: 'done' });
    expect(readPropertiesAnswer(answer(200))).toEqual({ kind: 'done' });
    expect(readPropertiesAnswer(answer(409, { category: 'CONFLICT' }))).toEqual({ kind: 'done' });
    expect(readPropertiesAnswer(answer(409), true)).toEqual({ kind: 'conflict' });
    const exists = { category: 'OBJECT_ALREADY_EXISTS', message: "Property named 'x' already exists." };
    expect(readPropertiesAnswer(answer(207, { errors: [exists] }), true)).toEqual({ kind: 'done' });
    expect(
      readPropertiesAnswer(
        answer(207, { errors: [exists, { category: 'VALIDATION_ERROR', message: 'bad' }] }),
        true,
      ),
    ).toMatchObject({ kind: 'failed', message: expect.stringContaining('bad') });
    expect(readPropertiesAnswer(answer(403, { category: 'MISSING_SCOPES', message: 'no' }))).toMatchObject({
      kind: 'credentials',
      message: expect.stringContaining('crm.schemas.contacts.write'),
    });
    expect(readPropertiesAnswer(answer(401, 'not json'))).toMatchObject({ kind: 'credentials' });
    expect(readPropertiesAnswer(answer(503))).toMatchObject({ kind: 'failed' });
    expect(readPropertiesAnswer({ failure: 'timeout', message: 'no answer' })).toMatchObject({
      kind: 'failed',
      message: 'HubSpot timeout: no answer',
    });
  });

  const doesntExist = (names: string[]) =>
    JSON.stringify({
      status: 'error',
      category: 'VALIDATION_ERROR',
      message: `Property values were not valid: ${JSON.stringify(
        names.map((name) => ({
          isValid: false,
          message: `Property "${name}" does not exist`,
          error: 'PROPERTY_DOESNT_EXIST',
          name,
        })),
      )}`,
    });

  it('finds the missing property names in an upsert refusal, and nothing else', () => {
    expect(missingProperties(doesntExist(['pulse_segment_vip', 'pulse_last_event']))).toEqual([
      'pulse_last_event',
      'pulse_segment_vip',
    ]);
    expect(
      missingProperties('{"message":"Property \\"pulse_x\\" does not exist PROPERTY_DOESNT_EXIST"}'),
    ).toEqual(['pulse_x']);
    expect(
      missingProperties(JSON.stringify({ category: 'VALIDATION_ERROR', message: 'Invalid email' })),
    ).toEqual([]);
  });

  it('an upsert refused for a missing property is dead, its reason naming the property and no person', () => {
    const hub = vendorFor('hubspot');
    const prepared = hub.prepare(
      { mode: 'properties' },
      { accessToken: 't' },
      [eventMessage(sampleEvent({ personKey: 'ann@example.com', userId: 'ann@example.com' }))],
      new Date(),
    ).requests[0];
    const outcomes = [
      ...hub.interpret(prepared as never, answer(400, doesntExist(['pulse_segment_vip'])), 0).values(),
    ];
    expect(outcomes).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^400 PROPERTY_DOESNT_EXIST: HubSpot has no contact property pulse_segment_vip;/,
        ),
      },
    ]);
    expect(JSON.stringify(outcomes)).not.toContain('ann@');
  });
});
