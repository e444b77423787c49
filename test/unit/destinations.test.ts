import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { evaluateAlert } from '../../functions/core/alerts';
import {
  checkTypeFields,
  type DestinationBody,
  matchesFilter,
} from '../../functions/core/destinations/definition';
import {
  breakerSignal,
  eventMessage,
  httpOutcome,
  mayDeliver,
  nextStep,
  type OutboundMessage,
  RETRY,
  retryAfterMs,
} from '../../functions/core/destinations/delivery';
import { memoryArchive, nextSlice, REPLAY_SLICE_MS } from '../../functions/core/destinations/replay';
import {
  chunk,
  hashedId,
  hubspotSegmentProperty,
  mixpanelInsertId,
  vendorFor,
} from '../../functions/core/destinations/vendors';
import type { CanonicalEvent } from '../../functions/core/events';
import { sampleAlert, sampleEvent, TEST_WEBHOOK_SECRET } from '../support/destinations';

describe('retries', () => {
  it('never gives up before the minimum attempts and three hours, and waits within the full-jitter ceiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 10 * 3_600_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 7_200_000 }), { nil: undefined }),
        (attempts, elapsed, r, after) => {
          const now = 1_800_000_000_000;
          const step = nextStep(
            { kind: 'retry', reason: '503', ...(after !== undefined && { retryAfterMs: after }) },
            attempts,
            now - elapsed,
            now,
            () => r,
          );
          const mayDie = attempts >= RETRY.minAttempts && elapsed >= RETRY.minSpanMs;
          expect(step.state === 'dead').toBe(mayDie);
          if (step.state === 'retry') {
            const ceiling = Math.min(RETRY.capMs, RETRY.baseMs * 2 ** (attempts - 1));
            expect(step.dueAt - now).toBeGreaterThanOrEqual(after ?? 0);
            expect(step.dueAt - now).toBeLessThanOrEqual(Math.max(ceiling, after ?? 0));
          }
        },
      ),
    );
  });

  it('spends at least three attempts over at least three hours however the jitter falls', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 200, maxLength: 200 }),
        (rs) => {
          const first = 0;
          let now = first;
          let attempts = 0;
          for (const r of rs) {
            attempts++;
            const step = nextStep({ kind: 'retry', reason: 'timeout' }, attempts, first, now, () => r);
            if (step.state === 'dead') break;
            now = step.dueAt;
          }
          expect(attempts).toBeGreaterThanOrEqual(3);
          expect(now - first).toBeGreaterThanOrEqual(3 * 3_600_000);
        },
      ),
    );
  });

  it('a refusal is dead at once', () => {
    expect(nextStep({ kind: 'rejected', reason: '400' }, 1, 0, 0)).toEqual({ state: 'dead' });
  });

  it('reads HTTP answers: 2xx delivered, 429/5xx/408 retried with Retry-After, other 4xx refused', () => {
    const a = (status: number, headers: Record<string, string> = {}) => ({ status, headers, body: 'x' });
    expect(httpOutcome(a(204), 0)).toEqual({ kind: 'delivered' });
    expect(httpOutcome(a(429, { 'retry-after': '30' }), 0)).toMatchObject({
      kind: 'retry',
      retryAfterMs: 30_000,
    });
    expect(httpOutcome(a(503), 0).kind).toBe('retry');
    expect(httpOutcome(a(408), 0).kind).toBe('retry');
    expect(httpOutcome({ failure: 'timeout', message: 'slow' }, 0).kind).toBe('retry');
    expect(httpOutcome(a(400), 0).kind).toBe('rejected');
    expect(httpOutcome(a(410), 0).kind).toBe('rejected');
    expect(retryAfterMs(new Date(60_000).toUTCString(), 0)).toBe(60_000);
  });

  it('the breaker counts failed requests, not throttling, and any success resets it', () => {
    expect(breakerSignal([{ kind: 'retry', reason: '503 down' }])).toBe('failure');
    expect(breakerSignal([{ kind: 'retry', reason: '429 slow down' }])).toBe('neutral');
    expect(breakerSignal([{ kind: 'retry', reason: '503' }, { kind: 'delivered' }])).toBe('success');
    expect(breakerSignal([])).toBe('neutral');
  });
});

describe('filters and consent', () => {
  const d = (filter: object, audiences: string[] = []) => ({ filter, audiences });
  it('an empty filter takes every event and nothing else', () => {
    expect(matchesFilter(d({}), { kind: 'event', type: 'click' })).toBe(true);
    expect(matchesFilter(d({}), { kind: 'alert', campaignId: 'c' })).toBe(false);
    expect(matchesFilter(d({}), { kind: 'segment.entered', segment: 'vip' })).toBe(false);
  });
  it('every named field must match', () => {
    const f = d({ types: ['conversion'], campaigns: ['spring'], channels: ['web'] });
    expect(
      matchesFilter(f, { kind: 'event', type: 'conversion', campaignId: 'spring', channel: 'web' }),
    ).toBe(true);
    expect(matchesFilter(f, { kind: 'event', type: 'click', campaignId: 'spring', channel: 'web' })).toBe(
      false,
    );
    expect(matchesFilter(f, { kind: 'event', type: 'conversion', campaignId: 'fall', channel: 'web' })).toBe(
      false,
    );
    expect(matchesFilter(f, { kind: 'event', type: 'conversion', campaignId: 'spring' })).toBe(false);
  });
  it('segment filters need the person in the segment; audiences receive their joins and leaves', () => {
    const f = d({ segments: ['vip'] });
    expect(matchesFilter(f, { kind: 'event' }, new Set(['vip']))).toBe(true);
    expect(matchesFilter(f, { kind: 'event' }, new Set(['other']))).toBe(false);
    expect(matchesFilter(f, { kind: 'event' })).toBe(false);
    expect(matchesFilter(d({}, ['vip']), { kind: 'segment.left', segment: 'vip' })).toBe(true);
    expect(matchesFilter(d({}, ['vip']), { kind: 'segment.left', segment: 'other' })).toBe(false);
    expect(matchesFilter(d({ kinds: ['segment.entered'] }), { kind: 'segment.entered', segment: 'x' })).toBe(
      true,
    );
  });
  it('an audience destination takes its audiences only, unless its filter names more kinds', () => {
    expect(matchesFilter(d({}, ['vip']), { kind: 'event', type: 'identify' })).toBe(false);
    expect(matchesFilter(d({}, ['vip']), { kind: 'segment.entered', segment: 'vip' })).toBe(true);
    expect(matchesFilter(d({ kinds: ['event'] }, ['vip']), { kind: 'event', type: 'click' })).toBe(true);
    expect(matchesFilter(d({}, []), { kind: 'event', type: 'click' })).toBe(true);
  });
  it('audiences need the marketing purpose; types need their settings and credentials', () => {
    const body = (over: Partial<DestinationBody>): DestinationBody => ({
      type: 'webhook',
      enabled: true,
      filter: {},
      settings: { url: 'https://example.com/hook' },
      consentPurpose: 'analytics',
      ...over,
    });
    expect(checkTypeFields(body({ audiences: ['vip'] }), false).map((e) => e.path)).toEqual([
      'consentPurpose',
    ]);
    expect(checkTypeFields(body({ settings: { url: 'ftp://x' } }), false).map((e) => e.path)).toEqual([
      'settings.url',
    ]);
    expect(
      checkTypeFields(body({ type: 'mixpanel', settings: { projectId: '123' } }), true).map((e) => e.path),
    ).toEqual(['credentials.serviceAccountUser', 'credentials.serviceAccountSecret']);
  });

  const msg = (at = '2026-11-29T10:00:00.000Z'): OutboundMessage =>
    eventMessage(sampleEvent({ eventTime: at }));
  it('consent: one grant and no refusal among the person ids; erasure wins unless consented again after', () => {
    const view = (
      purposes: Record<string, Record<string, boolean>>,
      erased: Record<string, { resumedAt?: string }> = {},
    ) => ({
      purposes: new Map(Object.entries(purposes)),
      erased: new Map(Object.entries(erased)),
    });
    expect(mayDeliver(msg(), ['u1', 'a1'], 'analytics', view({ a1: { analytics: true } }), true)).toBe(true);
    expect(mayDeliver(msg(), ['u1', 'a1'], 'marketing', view({ a1: { analytics: true } }), true)).toBe(false);
    expect(
      mayDeliver(
        msg(),
        ['u1', 'a1'],
        'analytics',
        view({ a1: { analytics: true }, u1: { analytics: false } }),
        true,
      ),
    ).toBe(false);
    expect(mayDeliver(msg(), ['u1'], 'analytics', view({}), false)).toBe(true);
    expect(mayDeliver(msg(), ['u1'], 'analytics', view({}, { u1: {} }), false)).toBe(false);
    const resumed = view({ u1: { analytics: true } }, { u1: { resumedAt: '2026-11-29T09:00:00.000Z' } });
    expect(mayDeliver(msg('2026-11-29T10:00:00.000Z'), ['u1'], 'analytics', resumed, true)).toBe(true);
    expect(mayDeliver(msg('2026-11-29T08:00:00.000Z'), ['u1'], 'analytics', resumed, true)).toBe(false);
    const alert: OutboundMessage = { messageId: 'a', kind: 'alert', at: 'x' };
    expect(mayDeliver(alert, [], 'marketing', view({}), true)).toBe(true);
  });
});

describe('vendors', () => {
  it('chunks by key keep order and never put one key twice in a request', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 100 }),
        fc.integer({ min: 1, max: 10 }),
        (keys, max) => {
          const parts = chunk(keys, max, 10_000, () => 1, 64, String);
          expect(parts.flat()).toEqual(keys);
          for (const p of parts) expect(new Set(p).size).toBe(p.length);
        },
      ),
    );
  });

  it('chunks keep order and stay within both limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (sizes, max) => {
          const parts = chunk(sizes, max, 1000, (n) => n);
          expect(parts.flat()).toEqual(sizes);
          for (const p of parts) {
            expect(p.length).toBeLessThanOrEqual(max);
            if (p.length > 1) expect(64 + p.reduce((a, n) => a + n + 1, 0)).toBeLessThanOrEqual(1000);
          }
        },
      ),
    );
  });

  it('webhook: Standard Webhooks headers any receiver verifies; the same batch keeps its webhook-id', () => {
    const secret = TEST_WEBHOOK_SECRET;
    const messages = [eventMessage(sampleEvent()), eventMessage(sampleEvent())];
    const now = new Date();
    const first = vendorFor('webhook').prepare(
      { url: 'https://r.example/h' },
      { signingSecret: secret },
      messages,
      now,
    );
    expect(first.requests).toHaveLength(1);
    const req = first.requests[0]?.request;
    const payload = new Webhook(secret).verify(
      req?.body as string,
      req?.headers as Record<string, string>,
    ) as {
      type: string;
      data: { messages: { id: string }[] };
    };
    expect(payload.type).toBe('pulse.messages');
    expect(payload.data.messages.map((m) => m.id)).toEqual(messages.map((m) => m.messageId));
    const again = vendorFor('webhook').prepare(
      { url: 'https://r.example/h' },
      { signingSecret: secret },
      messages,
      new Date(now.getTime() + 60_000),
    );
    expect(again.requests[0]?.request.headers['webhook-id']).toBe(req?.headers['webhook-id']);
    // Another secret does not verify.
    const other = `whsec_${Buffer.from('ffffffffffffffffffffffffffffffff').toString('base64')}`;
    expect(() =>
      new Webhook(other).verify(req?.body as string, req?.headers as Record<string, string>),
    ).toThrow();
  });

  it('mixpanel: $insert_id from the event id, batches of 2000, a 400 is a partial success', () => {
    const v = vendorFor('mixpanel');
    const messages = Array.from({ length: 2500 }, (_, i) =>
      eventMessage(sampleEvent({ eventId: `ev-${i}` })),
    );
    const prepared = v.prepare(
      { projectId: '42' },
      { serviceAccountUser: 'u', serviceAccountSecret: 's' },
      messages,
      new Date(),
    );
    expect(prepared.requests.map((r) => r.messageIds.length)).toEqual([2000, 500]);
    const body = JSON.parse(prepared.requests[0]?.request.body as string);
    expect(body[0].properties.$insert_id).toBe('ev-0');
    expect(prepared.requests[0]?.request.url).toBe('https://api.mixpanel.com/import?strict=1&project_id=42');
    const p = prepared.requests[1] as (typeof prepared.requests)[number];
    const out = v.interpret(
      p,
      {
        status: 400,
        headers: {},
        body: JSON.stringify({
          code: 400,
          failed_records: [{ index: 0, insert_id: 'ev-2000', message: 'bad time' }],
        }),
      },
      0,
    );
    expect(out.get('ev-2000')?.kind).toBe('rejected');
    expect(out.get('ev-2001')?.kind).toBe('delivered');
    expect(mixpanelInsertId('a:b:c')).toMatch(/^[0-9a-f]{36}$/);
    // Events dated more than an hour ahead are refused before sending.
    const future = v.prepare(
      { projectId: '42' },
      { serviceAccountUser: 'u', serviceAccountSecret: 's' },
      [eventMessage(sampleEvent({ eventTime: new Date(Date.now() + 7_200_000).toISOString() }))],
      new Date(),
    );
    expect(future.rejected).toHaveLength(1);
  });

  it('hashed ids: SHA-256 of the trimmed, lower-cased e-mail', () => {
    expect(hashedId(' Ann@Example.COM ')).toBe(hashedId('ann@example.com'));
    expect(hashedId('ann@example.com')).toMatch(/^[0-9a-f]{64}$/);
  });

  // An audience change as the membership triggers write it: the person key, nothing else.
  const audienceChange = (
    kind: 'segment.entered' | 'segment.left',
    personKey: string,
    segment: string,
  ): OutboundMessage => ({
    messageId: `seg:${segment}:${kind}:${personKey}`,
    kind,
    at: '2026-11-29T10:00:00.000Z',
    personKey,
    segment,
  });
  const bodyOf = (p: { requests: { request: { body: string } }[] }) =>
    JSON.parse(p.requests[0]?.request.body as string);

  it('webhook audiences carry SHA-256 of the normalised ids, never only the id', () => {
    const secret = TEST_WEBHOOK_SECRET;
    const p = vendorFor('webhook').prepare(
      { url: 'https://r.example/h' },
      { signingSecret: secret },
      [audienceChange('segment.entered', ' Ada@Example.com', 'pro_plan')],
      new Date(),
    );
    const [m] = bodyOf(p).data.messages;
    expect(m.hashedIds).toEqual({
      personKey: createHash('sha256').update('ada@example.com').digest('hex'),
    });
  });

  it('braze audiences: the person key as external id, update only (a join never creates a profile)', () => {
    const v = vendorFor('braze');
    const p = v.prepare(
      { baseUrl: 'https://rest.iad-01.braze.com' },
      { apiKey: 'k' },
      [audienceChange('segment.entered', 'u-42', 'pro_plan'), audienceChange('segment.left', 'u-42', 'vip')],
      new Date(),
    );
    expect(bodyOf(p)).toEqual({
      attributes: [
        { external_id: 'u-42', _update_existing_only: true, pulse_segments: { add: ['pro_plan'] } },
        { external_id: 'u-42', _update_existing_only: true, pulse_segments: { remove: ['vip'] } },
      ],
    });
    // An anonymous person named as such goes by alias (update only by Braze's default for aliases).
    const anon = v.prepare(
      { baseUrl: 'https://b' },
      { apiKey: 'k' },
      [{ ...audienceChange('segment.entered', 'a-1', 'vip'), anonymousId: 'a-1' }],
      new Date(),
    );
    expect(bodyOf(anon).attributes[0].user_alias).toEqual({
      alias_name: 'a-1',
      alias_label: 'pulse_anonymous_id',
    });
  });

  it('hubspot audiences: upsert by the normalised e-mail, one boolean property per segment', () => {
    const p = vendorFor('hubspot').prepare(
      { mode: 'properties' },
      { accessToken: 't' },
      [
        audienceChange('segment.entered', 'Ada@Example.com', 'pro_plan'),
        audienceChange('segment.left', 'bea@example.com', 'vip-tier:gold'),
        audienceChange('segment.entered', 'no-email', 'vip'),
      ],
      new Date(),
    );
    expect(p.requests[0]?.request.url).toBe('https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert');
    expect(bodyOf(p).inputs).toEqual([
      {
        idProperty: 'email',
        id: 'ada@example.com',
        properties: expect.objectContaining({ pulse_segment_pro_plan: 'true' }),
      },
      {
        idProperty: 'email',
        id: 'bea@example.com',
        properties: expect.objectContaining({ pulse_segment_vip_tier_gold: 'false' }),
      },
    ]);
    expect(hubspotSegmentProperty('vip-tier:gold')).toMatch(/^[a-z][a-z0-9_]*$/);
    // HubSpot refuses an upsert batch naming one contact twice: a contact's next change waits a request.
    const twice = vendorFor('hubspot').prepare(
      { mode: 'properties' },
      { accessToken: 't' },
      [
        audienceChange('segment.entered', 'ada@example.com', 'a'),
        audienceChange('segment.entered', 'bea@example.com', 'a'),
        audienceChange('segment.entered', 'ADA@example.com', 'b'),
      ],
      new Date(),
    );
    expect(twice.requests.map((r) => r.messageIds)).toEqual([
      ['seg:a:segment.entered:ada@example.com', 'seg:a:segment.entered:bea@example.com'],
      ['seg:b:segment.entered:ADA@example.com'],
    ]);
    expect(p.rejected.map((r) => r.messageId)).toEqual(['seg:vip:segment.entered:no-email']);
  });

  it('mixpanel names the person of an audience change by the person key', () => {
    const p = vendorFor('mixpanel').prepare(
      { projectId: '42' },
      { serviceAccountUser: 'u', serviceAccountSecret: 's' },
      [audienceChange('segment.entered', 'u-42', 'vip')],
      new Date('2026-11-29T10:00:00.000Z'),
    );
    expect(bodyOf(p)[0].properties).toMatchObject({ distinct_id: 'u-42', segment: 'vip' });
  });
});

describe('alerts', () => {
  const alert = sampleAlert;
  const now = new Date('2026-11-29T10:07:00.000Z');
  it('reads only whole quarters and fires when the condition starts to hold', () => {
    const counts = new Map([
      ['2026-11-29T09:45', { t_conversion: 11 }],
      ['2026-11-29T10:00', { t_conversion: 500 }],
    ]);
    const first = evaluateAlert(alert({}), counts, undefined, now);
    expect(first.fired).toMatchObject({ value: 11, threshold: 10, windowEnd: '2026-11-29T10:00:00.000Z' });
    const again = evaluateAlert(alert({}), counts, first.state, new Date(now.getTime() + 5 * 60_000));
    expect(again.fired).toBeUndefined();
    const later = evaluateAlert(alert({}), counts, first.state, new Date(now.getTime() + 61 * 60_000));
    expect(later.state.holding).toBe(false);
  });
  it('change against the trailing baseline', () => {
    const counts = new Map([
      ['2026-11-29T09:00', { n: 100 }],
      ['2026-11-29T09:15', { n: 100 }],
      ['2026-11-29T09:30', { n: 100 }],
      ['2026-11-29T09:45', { n: 20 }],
    ]);
    const a = alert({ metric: 'events', condition: { op: 'change', percent: 50, baselineWindows: 3 } });
    expect(evaluateAlert(a, counts, undefined, now).fired).toMatchObject({ value: 20, baseline: 100 });
    const calm = alert({ metric: 'events', condition: { op: 'change', percent: 90, baselineWindows: 3 } });
    expect(evaluateAlert(calm, counts, undefined, now).fired).toBeUndefined();
  });
});

describe('replay', () => {
  it('slices a window hour by hour to its end', () => {
    const slices: string[] = [];
    let cursor = '2026-11-29T00:30:00.000Z';
    for (
      let s = nextSlice(cursor, '2026-11-29T03:00:00.000Z');
      s;
      s = nextSlice(cursor, '2026-11-29T03:00:00.000Z')
    ) {
      expect(s.to.getTime() - s.from.getTime()).toBeLessThanOrEqual(REPLAY_SLICE_MS);
      slices.push(s.from.toISOString());
      cursor = s.to.toISOString();
    }
    expect(slices).toHaveLength(3);
    expect(cursor).toBe('2026-11-29T03:00:00.000Z');
  });
  it('the memory archive yields exactly the window, in pages', async () => {
    const events = Array.from({ length: 7 }, (_, i) =>
      sampleEvent({ eventTime: `2026-11-29T0${i}:00:00.000Z` }),
    );
    const got: CanonicalEvent[] = [];
    for await (const page of memoryArchive(events, 2).read(
      new Date('2026-11-29T01:00:00Z'),
      new Date('2026-11-29T05:00:00Z'),
    ))
      got.push(...page);
    expect(got.map((e) => e.eventTime.slice(11, 13))).toEqual(['01', '02', '03', '04']);
  });
});
