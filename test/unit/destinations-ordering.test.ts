import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../functions/core/destinations/delivery';
import {
  gate,
  inTimeOrder,
  isSuperseded,
  keepsPersonOrder,
  membershipKey,
} from '../../functions/core/destinations/ordering';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 29) + ms).toISOString();
const message = (
  id: string,
  ms: number,
  over: Partial<OutboundMessage> = {},
): { message: OutboundMessage } => ({
  message: { messageId: id, kind: 'event', at: at(ms), personKey: 'p1', ...over },
});

describe('which vendors keep a person’s order', () => {
  it('those applying updates in arrival order: HubSpot contact properties and Braze', () => {
    expect(keepsPersonOrder({ type: 'hubspot', settings: { mode: 'properties' } })).toBe(true);
    expect(keepsPersonOrder({ type: 'braze', settings: {} })).toBe(true);
    expect(keepsPersonOrder({ type: 'hubspot', settings: { mode: 'events' } })).toBe(false);
    for (const type of ['webhook', 'mixpanel', 'ga4'] as const)
      expect(keepsPersonOrder({ type, settings: {} })).toBe(false);
  });
});

describe('supersession of audience messages', () => {
  const entered = message('e', 1, { kind: 'segment.entered', segment: 'vip' }).message;
  const left = message('l', 2, { kind: 'segment.left', segment: 'vip' }).message;
  const member = new Set([membershipKey('vip', 'p1')]);

  it('a join for a person no longer in the segment, a leave for one back in it', () => {
    expect(isSuperseded(entered, new Set())).toBe(true);
    expect(isSuperseded(entered, member)).toBe(false);
    expect(isSuperseded(left, member)).toBe(true);
    expect(isSuperseded(left, new Set())).toBe(false);
  });

  it('never an event, nor a membership of another person or segment', () => {
    expect(isSuperseded(message('x', 1).message, new Set())).toBe(false);
    expect(isSuperseded(entered, new Set([membershipKey('vip', 'p2'), membershipKey('gold', 'p1')]))).toBe(
      true,
    );
  });
});

describe('gate', () => {
  const items = fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 12 });

  it('sends what comes before the earliest message out of hand, in time order; the rest waits behind it', () => {
    fc.assert(
      fc.property(items, items, (oursAt, othersAt) => {
        const ours = oursAt.map((ms, i) => message(`o${i}`, ms));
        const others = othersAt.map((ms, i) => message(`x${i}`, ms));
        const { go, wait, blocker } = gate(ours, others);
        expect([...go, ...wait].map((i) => i.message.messageId).sort()).toEqual(
          ours.map((i) => i.message.messageId).sort(),
        );
        const times = [...go, ...wait].map((i) => i.message);
        for (let k = 1; k < times.length; k++)
          expect(inTimeOrder(times[k - 1] as OutboundMessage, times[k] as OutboundMessage)).toBeLessThan(0);
        if (others.length === 0) expect(wait).toEqual([]);
        else {
          const earliest = [...others].sort((x, y) => inTimeOrder(x.message, y.message))[0];
          expect(blocker).toBe(earliest);
          const precedes = (i: { message: OutboundMessage }) =>
            inTimeOrder(i.message, (earliest as { message: OutboundMessage }).message) < 0;
          for (const i of go) expect(precedes(i)).toBe(true);
          for (const i of wait) expect(precedes(i)).toBe(false);
        }
      }),
    );
  });

  it('orders two messages of the same instant by id', () => {
    const { go } = gate([message('b', 5), message('a', 5)], []);
    expect(go.map((i) => i.message.messageId)).toEqual(['a', 'b']);
  });
});
