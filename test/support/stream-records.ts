/** Canonical events as Lambda's Kinesis records, for driving the consumer without a stream. */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { CanonicalEvent } from '../../functions/core/events';
import { EVENT_TYPES } from '../../functions/core/events';

export const SHARD = 'shardId-000000000000';

/** Kinesis-like sequence numbers: long decimal strings that grow with the position. */
export const sequenceNumber = (i: number) =>
  `4968061429086308367233768141338695${String(1_000_000 + i).padStart(22, '0')}`;

export const toRecord = (
  event: CanonicalEvent | string,
  i: number,
  shardId = SHARD,
): KinesisStreamRecord => ({
  eventSource: 'aws:kinesis',
  eventVersion: '1.0',
  eventID: `${shardId}:${sequenceNumber(i)}`,
  eventName: 'aws:kinesis:record',
  invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
  awsRegion: 'us-east-1',
  eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/test',
  kinesis: {
    kinesisSchemaVersion: '1.0',
    partitionKey: typeof event === 'string' ? 'poison' : event.personKey,
    sequenceNumber: sequenceNumber(i),
    data: Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)).toString('base64'),
    approximateArrivalTimestamp: Date.now() / 1000,
  },
});

let n = 0;
export const canonicalEvent = (overrides: Partial<CanonicalEvent> = {}): CanonicalEvent => {
  const now = new Date().toISOString();
  const type = EVENT_TYPES[n % EVENT_TYPES.length] as CanonicalEvent['type'];
  return {
    v: 1,
    eventId: `e-${++n}-${Math.random().toString(36).slice(2, 8)}`,
    type,
    personKey: 'person-1',
    userId: 'person-1',
    campaignId: 'camp-1',
    deviceType: 'mobile',
    channel: 'ios',
    data: {},
    properties: {},
    timestamp: now,
    receivedAt: now,
    eventTime: now,
    sourceId: 'src_test',
    door: 'api',
    ...overrides,
  };
};

/**
 * Ground truth: counters from the distinct event ids (the first copy of each), in stream order.
 * A conversion also credits its person's first-touch (`af`) and last-touch (`al`) campaigns: the
 * earliest and the latest (ties: the later record) other event naming a campaign before it.
 */
export const truth = (events: readonly CanonicalEvent[]) => {
  const seen = new Set<string>();
  const totals = new Map<string, Record<string, number>>();
  const persons = new Map<string, Set<string>>();
  const touches = new Map<string, { first: CanonicalEvent; last: CanonicalEvent }>();
  const add = (campaignId: string, field: string) => {
    const t = totals.get(campaignId) ?? {};
    t[field] = (t[field] ?? 0) + 1;
    totals.set(campaignId, t);
  };
  for (const e of events) {
    if (seen.has(e.eventId) || !e.campaignId) continue;
    seen.add(e.eventId);
    const touch = touches.get(e.personKey);
    if (e.type === 'conversion' && touch) {
      add(touch.first.campaignId as string, 'af');
      add(touch.last.campaignId as string, 'al');
    } else if (e.type !== 'conversion')
      touches.set(e.personKey, {
        first: touch && touch.first.eventTime <= e.eventTime ? touch.first : e,
        last: touch && touch.last.eventTime > e.eventTime ? touch.last : e,
      });
    for (const f of ['n', `t_${e.type}`, `d_${e.deviceType}`, `c_${e.channel ?? 'none'}`])
      add(e.campaignId, f);
    persons.set(e.campaignId, (persons.get(e.campaignId) ?? new Set()).add(e.personKey));
  }
  return { totals, persons };
};
