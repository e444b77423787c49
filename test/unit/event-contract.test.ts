/**
 * The event contract holds by construction: every field a type declares reaches the envelope,
 * and the envelope's version is stamped in one place. The type-level assertions below fail
 * `npm run typecheck` when they stop holding.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { toCanonical } from '../../functions/core/envelope';
import {
  type CanonicalEvent,
  canonicalEvent,
  DATA_FIELDS,
  type DataField,
  doorEvent,
  ENVELOPE_VERSION,
  EVENT_TYPES,
  parseClientEvent,
  personIdSchema,
  typeFields,
} from '../../functions/core/events';
import { validEvent } from '../support/events';

type DeclaredField = {
  [T in keyof typeof typeFields]: keyof (typeof typeFields)[T];
}[keyof typeof typeFields];

describe('the event contract', () => {
  it('keeps in the envelope every field any type declares (type level and at run time)', () => {
    // A field added to a type but missing from the envelope's data fields fails typecheck here.
    expectTypeOf<DataField>().toEqualTypeOf<DeclaredField>();
    const declared = new Set(Object.values(typeFields).flatMap((f) => Object.keys(f)));
    expect(new Set(DATA_FIELDS)).toEqual(declared);
  });

  it.each(EVENT_TYPES)('carries every %s field a client sends into data', (type) => {
    const fields: Record<string, unknown> = {};
    for (const name of Object.keys(typeFields[type])) fields[name] = name.endsWith('Sec') ? 3 : 'x';
    if (type === 'conversion') Object.assign(fields, { value: 9.5, currency: 'EUR' });
    const parsed = parseClientEvent(validEvent(type, fields));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const now = new Date();
    const out = toCanonical(parsed.value, { sourceId: 's', receivedAt: now, horizonDays: 30, door: 'api' });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(Object.keys(out.event.data).sort()).toEqual(Object.keys(fields).sort());
  });

  it('stamps the envelope version in the one builder, and door events keep no undefined fields', () => {
    const at = new Date('2026-06-01T10:00:00.000Z');
    const e = doorEvent(
      {
        eventId: 'e1',
        type: 'identify',
        userId: 'u1',
        anonymousId: undefined,
        deviceType: 'other',
        data: {},
        properties: {},
        sourceId: 's',
        door: 'identify',
      },
      at,
    );
    expect(e).toEqual({
      v: ENVELOPE_VERSION,
      eventId: 'e1',
      type: 'identify',
      personKey: 'u1',
      userId: 'u1',
      deviceType: 'other',
      data: {},
      properties: {},
      sourceId: 's',
      door: 'identify',
      timestamp: at.toISOString(),
      receivedAt: at.toISOString(),
      eventTime: at.toISOString(),
    });
    expect('anonymousId' in e).toBe(false);
    expectTypeOf(canonicalEvent).returns.toEqualTypeOf<CanonicalEvent>();
  });

  it('takes as ids printable, well-formed text only: what a DynamoDB key can hold', () => {
    for (const ok of ['user-1', 'émile', '😀'.repeat(256), 'a b'])
      expect([ok.slice(0, 8), personIdSchema.safeParse(ok).success]).toEqual([ok.slice(0, 8), true]);
    for (const bad of ['', 'a\u0000b', 'line\nbreak', 'x\ud800', '\udc00y', 'x'.repeat(257)])
      expect([bad.slice(0, 8), personIdSchema.safeParse(bad).success]).toEqual([bad.slice(0, 8), false]);
  });
});
