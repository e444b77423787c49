/** The eventbridge codec: entries, batching by count and by EventBridge's size, answers per entry. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTypeFields, type DestinationBody } from '../../functions/core/destinations/definition';
import { eventMessage, type OutboundMessage } from '../../functions/core/destinations/delivery';
import {
  busGranted,
  DETAIL_TYPES,
  entrySize,
  PUT_EVENTS_LIMITS,
  type PutEventsCall,
} from '../../functions/core/destinations/eventbridge';
import { type Prepared, vendorFor } from '../../functions/core/destinations/vendors';
import { sampleEvent } from '../support/destinations';

const codec = vendorFor('eventbridge');
const settings = { eventBusName: 'pulse-engagement-test' };
const now = new Date('2026-11-29T10:00:01.000Z');
const message = (id: string, padding = 0): OutboundMessage =>
  eventMessage(sampleEvent({ eventId: id, properties: padding ? { pad: 'x'.repeat(padding) } : {} }));

const answer = (entries: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[]) => ({
  status: 200,
  headers: {},
  body: JSON.stringify({ FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries }),
});
const errorAnswer = (status: number, type: string, message = 'no') => ({
  status,
  headers: {},
  body: JSON.stringify({ __type: type, message }),
});

describe('eventbridge entries', () => {
  it('carries the message JSON as detail, a detail type per kind, the source and the bus', () => {
    const m = message('e-1');
    const segment: OutboundMessage = {
      messageId: 's-1',
      kind: 'segment.left',
      at: m.at,
      personKey: 'u1',
      segment: 'vip',
    };
    const { requests, rejected } = codec.prepare(
      { ...settings, source: 'shop.pulse' },
      {},
      [m, segment],
      now,
    );
    expect(rejected).toEqual([]);
    const [first, second] = (requests[0] as Prepared<PutEventsCall>).request.entries;
    expect(first).toMatchObject({
      Source: 'shop.pulse',
      DetailType: 'Pulse Event',
      EventBusName: 'pulse-engagement-test',
      Time: m.at,
    });
    expect(JSON.parse(first?.Detail ?? '')).toMatchObject({
      id: 'e-1',
      kind: 'event',
      event: { eventId: 'e-1' },
    });
    expect(second?.DetailType).toBe('Pulse Segment Left');
    expect(JSON.parse(second?.Detail ?? '')).toMatchObject({ id: 's-1', segment: 'vip' });
    expect(Object.values(DETAIL_TYPES)).toEqual([
      'Pulse Event',
      'Pulse Segment Entered',
      'Pulse Segment Left',
      'Pulse Alert',
    ]);
  });

  it('defaults the source to pulse', () => {
    const { requests } = codec.prepare(settings, {}, [message('e-1')], now);
    expect(requests[0]?.request.entries[0]?.Source).toBe('pulse');
  });

  it('sizes an entry as EventBridge documents: 14 for Time, UTF-8 bytes of the strings', () => {
    expect(
      entrySize({ Source: 'pulse', DetailType: 'é', Detail: '{}', EventBusName: 'ignored', Time: 'x' }),
    ).toBe(14 + 5 + 2 + 2);
    expect(
      entrySize({ Source: 'a', DetailType: 'b', Detail: 'c', EventBusName: 'd', Resources: ['arn:1', 'ü'] }),
    ).toBe(3 + 5 + 2);
  });

  it('batches by 10 entries, and by the size limit', () => {
    const many = Array.from({ length: 23 }, (_, i) => message(`e-${i}`));
    expect(codec.prepare(settings, {}, many, now).requests.map((r) => r.messageIds.length)).toEqual([
      10, 10, 3,
    ]);
    expect(codec.prepare({ ...settings, batchSize: 4 }, {}, many, now).requests[0]?.messageIds).toHaveLength(
      4,
    );
    // Three entries of ~100 KB: two do not fit under 256 KB together with a third.
    const big = [message('b-1', 100_000), message('b-2', 100_000), message('b-3', 100_000)];
    expect(codec.prepare(settings, {}, big, now).requests.map((r) => r.messageIds)).toEqual([
      ['b-1', 'b-2'],
      ['b-3'],
    ]);
  });

  it('refuses an entry that alone reaches 256 KB, before sending', () => {
    const { requests, rejected } = codec.prepare(
      settings,
      {},
      [message('huge', 270_000), message('ok')],
      now,
    );
    expect(rejected.map((r) => r.messageId)).toEqual(['huge']);
    expect(requests.flatMap((r) => r.messageIds)).toEqual(['ok']);
  });

  it('puts every message in exactly one request (or refuses it), each under both limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        (paddings, batchSize) => {
          const messages = paddings.map((p, i) => message(`m-${i}`, p));
          const { requests, rejected } = codec.prepare(
            { ...settings, ...(batchSize !== undefined && { batchSize }) },
            {},
            messages,
            now,
          );
          const sent = requests.flatMap((r) => r.messageIds);
          const all = [...sent, ...rejected.map((r) => r.messageId)];
          expect(all.sort()).toEqual(messages.map((m) => m.messageId).sort());
          expect(new Set(all).size).toBe(all.length);
          for (const r of requests) {
            expect(r.request.entries).toHaveLength(r.messageIds.length);
            expect(r.messageIds.length).toBeLessThanOrEqual(batchSize ?? PUT_EVENTS_LIMITS.entries);
            const total = r.request.entries.reduce((n, e) => n + entrySize(e), 0);
            expect(total).toBeLessThan(PUT_EVENTS_LIMITS.bytes);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('eventbridge answers', () => {
  const prepared = codec.prepare(settings, {}, [message('a'), message('b'), message('c')], now)
    .requests[0] as Prepared<PutEventsCall>;
  const kinds = (m: Map<string, { kind: string }>) => [...m.values()].map((o) => o.kind);

  it('maps a partial failure per entry: retryable codes retried, documented permanent ones dead', () => {
    const out = codec.interpret(
      prepared,
      answer([
        { EventId: '1' },
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad json' },
      ]),
      Date.now(),
    );
    expect(kinds(out)).toEqual(['delivered', 'retry', 'rejected']);
    // Throttling is the bus pacing us: reported as 429, which the circuit breaker does not count.
    expect((out.get('b') as { reason: string }).reason).toMatch(/^429 ThrottlingException/);
    expect((out.get('c') as { reason: string }).reason).toContain('MalformedDetail');
  });

  it.each([
    ['InternalFailure', 'retry'],
    ['ThrottlingException', 'retry'],
    ['SomethingNew', 'retry'],
    ['AccessDeniedException', 'rejected'],
    ['InvalidAccountIdException', 'rejected'],
    ['InvalidArgument', 'rejected'],
    ['MalformedDetail', 'rejected'],
    ['RedactionFailure', 'rejected'],
    ['NotAuthorizedForSourceException', 'rejected'],
    ['NotAuthorizedForDetailTypeException', 'rejected'],
  ])('entry error %s is %s', (code, kind) => {
    const out = codec.interpret(
      prepared,
      answer([{ EventId: '1' }, { EventId: '2' }, { ErrorCode: code, ErrorMessage: 'x' }]),
      Date.now(),
    );
    expect(out.get('c')?.kind).toBe(kind);
  });

  it.each([
    [400, 'ThrottlingException', 'retry'],
    [500, 'InternalException', 'retry'],
    [503, 'ServiceUnavailable', 'retry'],
    [400, 'ExpiredTokenException', 'retry'],
    [400, 'AccessDeniedException', 'rejected'],
    [400, 'ResourceNotFoundException', 'rejected'],
    [400, 'ValidationException', 'rejected'],
    [400, 'com.amazonaws.events#InvalidArgument', 'rejected'],
  ])('a whole-request %d %s: every message %s', (status, type, kind) => {
    expect(new Set(kinds(codec.interpret(prepared, errorAnswer(status, type), Date.now())))).toEqual(
      new Set([kind]),
    );
  });

  it('retries timeouts, network failures and a 200 without one result per entry', () => {
    for (const a of [
      { failure: 'timeout' as const, message: 'slow' },
      { failure: 'network' as const, message: 'ECONNREFUSED' },
      answer([{ EventId: '1' }]),
      { status: 200, headers: {}, body: 'not json' },
    ])
      expect(new Set(kinds(codec.interpret(prepared, a, Date.now())))).toEqual(new Set(['retry']));
  });
});

describe('eventbridge settings', () => {
  const body = (s: Record<string, unknown>): DestinationBody => ({
    type: 'eventbridge',
    enabled: true,
    filter: {},
    settings: s,
    consentPurpose: 'analytics',
  });

  it('takes a bus name or ARN and refuses what EventBridge would', () => {
    expect(checkTypeFields(body({ eventBusName: 'pulse-engagement-dev' }), true)).toEqual([]);
    expect(
      checkTypeFields(body({ eventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/orders' }), true),
    ).toEqual([]);
    expect(checkTypeFields(body({ eventBusName: 'has space' }), true).map((e) => e.path)).toEqual([
      'settings.eventBusName',
    ]);
    expect(
      checkTypeFields(body({ eventBusName: 'b', source: 'aws.events' }), true).map((e) => e.path),
    ).toEqual(['settings.source']);
    expect(checkTypeFields(body({ eventBusName: 'b', batchSize: 10 }), true)).toEqual([]);
    expect(checkTypeFields(body({}), true).map((e) => e.path)).toEqual(['settings.eventBusName']);
  });
});

describe('the buses the stack grants', () => {
  const granted = [
    'arn:aws:events:eu-west-1:123456789012:event-bus/pulse-engagement-prod',
    'arn:aws:events:us-east-1:999999999999:event-bus/orders',
  ];
  it('takes a listed ARN, or a name granted in the function region', () => {
    expect(busGranted(granted[1] as string, granted, 'eu-west-1')).toBe(true);
    expect(busGranted('pulse-engagement-prod', granted, 'eu-west-1')).toBe(true);
  });
  it('refuses a name granted only in another region, and an unlisted ARN', () => {
    expect(busGranted('orders', granted, 'eu-west-1')).toBe(false);
    expect(busGranted('pulse-engagement-prod', granted, 'us-east-1')).toBe(false);
    expect(busGranted('arn:aws:events:eu-west-1:123456789012:event-bus/other', granted, 'eu-west-1')).toBe(
      false,
    );
  });
});
