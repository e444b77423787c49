/**
 * The archive's Firehose transformation: each record Ok (with its archive row and the event's
 * partition), Dropped (not admitted) or ProcessingFailed (not a canonical event, kept by Firehose).
 */
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { archiveRow } from '../../functions/core/archive';
import { canonicalEvent } from '../../functions/core/events';
import { tables } from '../../lib/tables';

let transformRecords: typeof import('../../functions/archive/transform').transformRecords;
beforeAll(async () => {
  // The module builds its clients at import, as in Lambda: names only, nothing is called here.
  for (const t of Object.values(tables)) process.env[t.envVar] ??= `unit-${t.name}`;
  ({ transformRecords } = await import('../../functions/archive/transform'));
});

const at = '2026-03-02T10:15:00.000Z';
const event = (eventId: string, ids: { userId?: string; anonymousId?: string }) =>
  canonicalEvent({
    eventId,
    type: 'click',
    personKey: (ids.userId ?? ids.anonymousId) as string,
    ...ids,
    deviceType: 'mobile',
    data: { elementId: 'cta' },
    properties: {},
    timestamp: at,
    receivedAt: at,
    eventTime: at,
    sourceId: 'src',
    door: 'api',
  });
const record = (recordId: string, payload: string) => ({
  recordId,
  approximateArrivalTimestamp: 0,
  data: Buffer.from(payload).toString('base64'),
  kinesisRecordMetadata: {
    shardId: 'shardId-000000000000',
    partitionKey: 'p',
    sequenceNumber: recordId.padStart(4, '0'),
    subsequenceNumber: '',
    approximateArrivalTimestamp: 0,
  },
});
const firehoseEvent = (records: ReturnType<typeof record>[]): FirehoseTransformationEvent => ({
  invocationId: 'i',
  deliveryStreamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/x',
  region: 'us-east-1',
  records,
});

describe('the archive transformation', () => {
  it('turns events into rows in their partition, and keeps what is not an event for Firehose', async () => {
    const anonymous = event('e-2', { anonymousId: 'a-1' });
    const outcome = await transformRecords(
      firehoseEvent([
        record('1', JSON.stringify(event('e-1', { userId: 'u-1' }))),
        record('2', JSON.stringify(anonymous)),
        record('3', '{"not":"an event"}'),
      ]),
      // Consent not required here; identity knows a-1 as u-9.
      {
        gate: async () => undefined,
        identity: {
          resolveMany: async (ids) => new Map(ids.filter((id) => id === 'a-1').map((id) => [id, 'u-9'])),
          linkedIds: async () => [],
        },
      },
    );
    expect(outcome).toMatchObject({ archived: 2, dropped: 0, failed: 1 });
    const [first, second, third] = outcome.result.records;
    expect(first).toMatchObject({
      recordId: '1',
      result: 'Ok',
      metadata: { partitionKeys: { dt: '2026-03-02', hour: '10' } },
    });
    const row = JSON.parse(Buffer.from(second?.data as string, 'base64').toString('utf8'));
    // Aimed at the user its anonymous id is linked to; its own ids kept.
    expect(row).toEqual({ ...archiveRow(anonymous), person_key: 'u-9' });
    expect(Object.keys(row)).not.toContain('ip');
    expect(third).toMatchObject({ recordId: '3', result: 'ProcessingFailed' });
  });

  it('drops what the read models would not see: no analytics consent on the person', async () => {
    const consent = {
      erasedAmong: async () => new Map(),
      // u-1 granted analytics; u-2 withdrew it.
      currentFor: async () =>
        new Map([
          ['u-1', { purposes: { analytics: true } }],
          ['u-2', { purposes: { analytics: false } }],
        ]),
    };
    const outcome = await transformRecords(
      firehoseEvent([
        record('1', JSON.stringify(event('e-1', { userId: 'u-1' }))),
        record('2', JSON.stringify(event('e-2', { userId: 'u-2' }))),
        record('3', JSON.stringify(event('e-3', { userId: 'u-3' }))),
      ]),
      {
        gate: async () => ({ consent: consent as never, key: new Uint8Array(32), required: true }),
        identity: { resolveMany: async () => new Map(), linkedIds: async () => [] },
      },
    );
    expect(outcome).toMatchObject({ archived: 1, dropped: 2, failed: 0 });
    expect(outcome.result.records.map((r) => r.result)).toEqual(['Ok', 'Dropped', 'Dropped']);
  });
});
