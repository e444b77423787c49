/** The identify event's derived id: a retry is one event, a trait set back to an earlier value is not. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DoorContext } from '../../functions/core/envelope';
import { type IdentifyBody, identifyEvent } from '../../functions/core/identity';

const ctxAt = (ms: number): DoorContext => ({
  sourceId: 'src',
  receivedAt: new Date(ms),
  horizonDays: 30,
  door: 'identify',
});
const T0 = Date.parse('2026-11-29T10:00:00.000Z');
const idOf = (body: IdentifyBody, ms: number, traits?: Record<string, string>) =>
  identifyEvent(body, ctxAt(ms), traits).eventId;

describe('identifyEvent ids', () => {
  it('a trait set back to its earlier value is a new event (pro → free → pro)', () => {
    const body = { userId: 'ada@example.com', traits: { plan: 'pro' } };
    const first = idOf(body, T0, { plan: 'pro' });
    const back = idOf(body, T0 + 60_000, { plan: 'pro' });
    expect(back).not.toBe(first);
    expect(identifyEvent(body, ctxAt(T0 + 60_000), { plan: 'pro' }).data).toEqual({
      traits: { plan: 'pro' },
    });
  });

  it('a retry of a timestamped update is the same event, whenever it arrives', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), fc.nat(86_400_000), (plan, delay) => {
        const body = { userId: 'u1', traits: { plan }, timestamp: '2026-11-29T09:59:00.000Z' };
        expect(idOf(body, T0 + delay, { plan })).toBe(idOf(body, T0, { plan }));
        // Another client time is another update.
        expect(idOf({ ...body, timestamp: '2026-11-29T09:59:01.000Z' }, T0, { plan })).not.toBe(
          idOf(body, T0, { plan }),
        );
      }),
    );
  });

  it('a repeated link is one event; a client event id is kept as sent', () => {
    fc.assert(
      fc.property(fc.nat(86_400_000), (delay) => {
        const link = { userId: 'u1', anonymousId: 'a1' };
        expect(idOf(link, T0 + delay)).toBe(idOf(link, T0));
        expect(idOf({ ...link, eventId: 'client-1' }, T0 + delay, { plan: 'x' })).toBe('client-1');
      }),
    );
  });
});
