/** Canonical events for the destinations tests. */
import type { Alert } from '../../functions/core/alerts';
import { type CanonicalEvent, canonicalEvent } from '../../functions/core/events';

export const sampleEvent = (over: Partial<CanonicalEvent> = {}): CanonicalEvent =>
  canonicalEvent({
    eventId: `e-${Math.random().toString(36).slice(2)}`,
    type: 'click',
    personKey: 'u1',
    userId: 'u1',
    campaignId: 'spring',
    channel: 'web',
    deviceType: 'desktop',
    data: { elementId: 'cta' },
    properties: {},
    timestamp: '2026-11-29T10:00:00.000Z',
    receivedAt: '2026-11-29T10:00:00.000Z',
    eventTime: '2026-11-29T10:00:00.000Z',
    sourceId: 'src',
    door: 'api',
    ...over,
  });

/** A conversion-count alert over one quarter-hour, above 10. */
export const sampleAlert = (over: Partial<Alert> = {}): Alert => ({
  alertId: 'a1',
  campaignId: 'spring',
  metric: 'conversion',
  windowMinutes: 15,
  condition: { op: 'above', threshold: 10 },
  enabled: true,
  cooldownMinutes: 60,
  createdAt: '',
  updatedAt: '',
  ...over,
});

/** A webhook destination's signing secret, as `whsec_` + base64 (Standard Webhooks). */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
