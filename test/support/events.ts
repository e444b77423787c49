/** Builders and fast-check arbitraries of valid engagement events, shared by tests and bench. */
import fc from 'fast-check';
import { CHANNELS, DEVICE_TYPES, EVENT_TYPES, type EventType } from '../../functions/core/events';

export const typeExtras: Record<EventType, Record<string, unknown>> = {
  click: { elementId: 'cta-button' },
  view: { pageId: 'home' },
  share: { network: 'whatsapp' },
  'video-play': { videoId: 'v-42', positionSec: 0, durationSec: 30 },
  conversion: { value: 19.99, currency: 'EUR', conversionType: 'purchase' },
  custom: { name: 'wishlist_add' },
};

export const validEvent = (
  type: EventType = 'click',
  overrides: Record<string, unknown> = {},
): Record<string, unknown> => ({
  type,
  eventId: `evt-${Math.random().toString(36).slice(2)}`,
  userId: 'user-1',
  campaignId: 'spring-sale',
  timestamp: new Date(Date.now() - 60_000).toISOString(),
  deviceType: 'mobile',
  channel: 'ios',
  ...typeExtras[type],
  ...overrides,
});

const id = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0);

/** Valid events of any type, stamped within the last week relative to `now`. */
export const arbitraryEvent = (now: number) =>
  fc
    .record({
      type: fc.constantFrom(...EVENT_TYPES),
      eventId: fc.option(fc.uuid(), { nil: undefined }),
      userId: fc.option(id, { nil: undefined }),
      anonymousId: fc.option(id, { nil: undefined }),
      campaignId: id,
      ageMs: fc.integer({ min: 0, max: 7 * 86_400_000 }),
      sendDelayMs: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }),
      clockSkewMs: fc.integer({ min: -86_400_000, max: 86_400_000 }),
      deviceType: fc.constantFrom(...DEVICE_TYPES),
      channel: fc.option(fc.constantFrom(...CHANNELS), { nil: undefined }),
      properties: fc.option(
        fc.dictionary(
          fc
            .string({ minLength: 1, maxLength: 10 })
            .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)),
          fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
          { maxKeys: 5 },
        ),
        { nil: undefined },
      ),
    })
    .filter((e) => e.userId !== undefined || e.anonymousId !== undefined)
    .map(({ ageMs, sendDelayMs, clockSkewMs, ...e }) => {
      // A device clock off by clockSkewMs: only the difference sentAt − timestamp is trusted.
      const happened = now - ageMs;
      const device = (t: number) => new Date(t + (sendDelayMs === undefined ? 0 : clockSkewMs)).toISOString();
      const event: Record<string, unknown> = {
        ...e,
        ...typeExtras[e.type],
        timestamp: device(happened),
        ...(sendDelayMs !== undefined && { sentAt: device(happened + sendDelayMs) }),
      };
      for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
      return { event, happened, sendDelayMs };
    });
