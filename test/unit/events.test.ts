import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { correctedTime, derivedEventId, toCanonical } from '../../functions/core/envelope';
import { type ClientEvent, EVENT_TYPES, parseClientEvent } from '../../functions/core/events';
import { ingestBatch, ingestOne, isRejection } from '../../functions/core/ingest';
import { arbitraryEvent, validEvent } from '../support/events';

const now = Date.now();
const ctx = { sourceId: 'src_test', receivedAt: new Date(now), horizonDays: 30, door: 'api' as const };

describe('event schemas', () => {
  it.each(EVENT_TYPES)('accepts a valid %s event', (type) => {
    const result = parseClientEvent(validEvent(type));
    expect(result.ok).toBe(true);
  });

  it('names each missing required field by its path', () => {
    const { campaignId: _c, deviceType: _d, timestamp: _t, elementId: _e, ...rest } = validEvent('click');
    const result = parseClientEvent(rest);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // deviceType is optional: the edge fills it from the user agent (docs/data-quality.md).
    expect(result.errors.map((e) => e.path).sort()).toEqual(['campaignId', 'elementId', 'timestamp']);
    expect(result.errors.find((e) => e.path === 'campaignId')?.message).toBe('Required');
  });

  it('requires a userId or an anonymousId', () => {
    const { userId: _u, ...rest } = validEvent('view');
    const result = parseClientEvent(rest);
    expect(result).toMatchObject({
      ok: false,
      errors: [{ path: 'userId', message: 'userId or anonymousId is required' }],
    });
  });

  it('rejects an unknown type at the type path, and per-type required fields', () => {
    expect(parseClientEvent({ ...validEvent(), type: 'hover' })).toMatchObject({
      ok: false,
      errors: [{ path: 'type' }],
    });
    const share = validEvent('share', { network: undefined });
    expect(parseClientEvent(share)).toMatchObject({
      ok: false,
      errors: [{ path: 'network', message: 'Required' }],
    });
  });

  it('rejects wrong types, long ids and bad currencies with their paths', () => {
    const result = parseClientEvent(
      validEvent('conversion', { userId: 42, eventId: 'x'.repeat(101), currency: 'euro', value: 'ten' }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path).sort()).toEqual(['currency', 'eventId', 'userId', 'value']);
  });

  it('takes the documented device types and channels, and names the field of any other', () => {
    expect(parseClientEvent(validEvent('click', { deviceType: 'tv', channel: 'email' }))).toMatchObject({
      ok: true,
    });
    for (const bad of [{ deviceType: 'fridge' }, { deviceType: 'Mobile' }, { channel: 'fax' }])
      expect(parseClientEvent(validEvent('click', bad))).toMatchObject({
        ok: false,
        errors: [{ path: Object.keys(bad)[0] }],
      });
  });

  it('takes ISO-8601 times with Z or an offset, and refuses others', () => {
    for (const ok of [
      '2026-06-01T10:00:00Z',
      '2026-06-01T10:00:00.123+02:00',
      '2026-06-01T10:00Z',
      '2026-06-01T10:00:00.123456-0530',
    ])
      expect(parseClientEvent(validEvent('click', { timestamp: ok })).ok).toBe(true);
    for (const bad of [
      '2026-06-01',
      '2026-06-01T10:00:00',
      '2026-13-01T10:00:00Z',
      'yesterday',
      '1717236000',
    ])
      expect(parseClientEvent(validEvent('click', { timestamp: bad }))).toMatchObject({
        ok: false,
        errors: [{ path: 'timestamp' }],
      });
  });

  it('refuses prototype keys and deep nesting in properties, naming the path', () => {
    const proto = JSON.parse('{"a": {"__proto__": {"polluted": true}}}');
    expect(parseClientEvent(validEvent('click', { properties: proto }))).toMatchObject({
      ok: false,
      errors: [{ path: 'properties.a.__proto__' }],
    });
    let deep: unknown = 1;
    for (let i = 0; i < 10; i++) deep = { d: deep };
    const result = parseClientEvent(validEvent('click', { properties: { deep } }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toMatch(/deeper than 5/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses more than 100 property keys', () => {
    const properties = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]));
    expect(parseClientEvent(validEvent('click', { properties }))).toMatchObject({
      ok: false,
      errors: [{ path: 'properties' }],
    });
  });

  it('never throws, whatever JSON it is given, and every error has a string path', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.option(fc.constantFrom(...EVENT_TYPES), { nil: undefined }),
        (input, type) => {
          const result = parseClientEvent(input, type);
          if (!result.ok) for (const e of result.errors) expect(typeof e.path).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('still rejects a valid event with any single required field corrupted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EVENT_TYPES),
        fc.constantFrom('campaignId', 'timestamp'),
        fc.oneof(
          fc.constant(undefined),
          fc.integer(),
          fc.constant(''),
          fc.constant(null),
          fc.array(fc.string()),
        ),
        (type, field, bad) => {
          const result = parseClientEvent({ ...validEvent(type), [field]: bad });
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.errors.map((e) => e.path)).toContain(field);
        },
      ),
    );
  });
});

describe('canonical envelope', () => {
  it('accepts any valid event, keyed by the person, bucketed by skew-corrected time', () => {
    fc.assert(
      fc.property(arbitraryEvent(now), ({ event, sendDelayMs }) => {
        const outcome = ingestOne(event, 0, ctx, { prefix: '' });
        if (isRejection(outcome)) throw new Error(JSON.stringify(outcome));
        const result = outcome.event;
        expect(JSON.parse(outcome.json)).toEqual(result);
        expect(result.personKey).toBe(event.userId ?? event.anonymousId);
        expect(result.v).toBe(1);
        expect(result.receivedAt).toBe(new Date(now).toISOString());
        // With sentAt, the device clock's offset is gone: the event sits at receivedAt − delay.
        const expected =
          sendDelayMs === undefined ? Date.parse(event.timestamp as string) : now - sendDelayMs;
        expect(Date.parse(result.eventTime)).toBe(expected);
        expect(result).not.toHaveProperty('consentToken');
      }),
      { numRuns: 300 },
    );
  });

  it('corrects clock skew as receivedAt − (sentAt − timestamp), clamping a negative delay', () => {
    const received = new Date('2026-06-01T12:00:00Z');
    expect(
      correctedTime(
        new Date('2030-01-01T00:00:00Z'),
        new Date('2030-01-01T00:00:05Z'),
        received,
      ).toISOString(),
    ).toBe('2026-06-01T11:59:55.000Z');
    expect(
      correctedTime(
        new Date('2030-01-01T00:00:05Z'),
        new Date('2030-01-01T00:00:00Z'),
        received,
      ).toISOString(),
    ).toBe(received.toISOString());
  });

  it('rejects events over 24 h in the future or past the horizon, at timestamp', () => {
    const future = validEvent('click', { timestamp: new Date(now + 25 * 3600_000).toISOString() });
    const ancient = validEvent('click', { timestamp: new Date(now - 31 * 86_400_000).toISOString() });
    const ok = validEvent('click', { timestamp: new Date(now - 29 * 86_400_000).toISOString() });
    for (const [e, message] of [
      [future, /future/],
      [ancient, /horizon/],
    ] as const) {
      const r = ingestOne(e, 0, ctx, { prefix: '' });
      expect(isRejection(r) && r.errors[0]).toMatchObject({
        path: 'timestamp',
        message: expect.stringMatching(message),
      });
    }
    expect(isRejection(ingestOne(ok, 0, ctx, { prefix: '' }))).toBe(false);
  });

  it('derives the same id for the same content in any key order, and a different one otherwise', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 6 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(derivedEventId('s', obj)).toBe(derivedEventId('s', reversed));
        expect(derivedEventId('s', obj)).not.toBe(derivedEventId('other-source', obj));
      }),
    );
    const { eventId: _a, ...a } = validEvent('click');
    const r1 = toCanonical(a as unknown as ClientEvent, ctx);
    const r2 = toCanonical({ ...a, elementId: 'other' } as unknown as ClientEvent, ctx);
    expect(r1.ok && r2.ok && r1.event.eventId !== r2.event.eventId).toBe(true);
    expect(r1.ok && r1.event.eventId).toMatch(/^d-/);
  });

  it('does not let the consent token change the derived id', () => {
    const { eventId: _a, ...a } = validEvent('click');
    const r1 = toCanonical({ ...a, consentToken: 't1' } as unknown as ClientEvent, ctx);
    const r2 = toCanonical({ ...a, consentToken: 't2' } as unknown as ClientEvent, ctx);
    expect(r1.ok && r2.ok && r1.event.eventId === r2.event.eventId).toBe(true);
  });
});

describe('batch ingest', () => {
  it('accepts valid events and rejects the rest by index, with prefixed paths', () => {
    const events = [
      validEvent('click'),
      { ...validEvent('view'), userId: undefined, anonymousId: undefined },
      'nope',
      validEvent('share'),
    ];
    const outcome = ingestBatch(events, ctx);
    expect(outcome.accepted).toHaveLength(2);
    expect(outcome.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(outcome.rejected[0]?.errors[0]?.path).toBe('events.1.userId');
    expect(outcome.rejected[0]?.eventId).toBe(events[1] && (events[1] as { eventId: string }).eventId);
    expect(outcome.rejected[1]?.errors[0]?.path).toBe('events.2');
  });

  it('rejects an event over 32 KB as payload_too_large, alone', () => {
    const big = validEvent('custom', {
      properties: {
        blob: 'x'.repeat(8000),
        b2: 'y'.repeat(8000),
        b3: 'z'.repeat(8000),
        b4: 'w'.repeat(8000),
        b5: 'v'.repeat(5000),
      },
    });
    const fits = validEvent('custom', {
      properties: { a: 'x'.repeat(7_900), b: 'x'.repeat(7_900), c: 'x'.repeat(7_900), d: 'x'.repeat(7_900) },
    });
    expect(isRejection(ingestOne(fits, 0, ctx, { prefix: '' }))).toBe(false);
    const outcome = ingestBatch([big, validEvent('click')], ctx);
    expect(outcome.rejected).toMatchObject([{ index: 0, code: 'payload_too_large' }]);
    expect(outcome.accepted).toHaveLength(1);
  });
});
