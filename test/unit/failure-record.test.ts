/**
 * Reading the on-failure records Lambda writes to S3: the ids a failed batch names (what the failure
 * index keys) and a batch rewritten without a person, with the payload as a string (as documented)
 * or as an object, and the record otherwise as Lambda wrote it.
 */
import { describe, expect, it } from 'vitest';
import { failureRecordIds, splitFailureObject } from '../../functions/adapters/failure-store';
import { awsFailureRecord } from '../support/failure-records';
import { canonicalEvent } from '../support/stream-records';

const ana = canonicalEvent({ eventId: 'e-ana', personKey: 'ana', userId: 'ana', anonymousId: 'anon-ana' });
const bo = canonicalEvent({ eventId: 'e-bo', personKey: 'bo', userId: 'bo' });

describe.each(['string', 'object'] as const)('an on-failure record with its payload as a %s', (payloadAs) => {
  const record = awsFailureRecord([ana, bo, 'not json'], { payloadAs });
  const body = JSON.stringify(record);

  it('names every person id of its records, and the partition key of an unreadable one', () => {
    expect(failureRecordIds(body)?.sort()).toEqual(['ana', 'anon-ana', 'bo', 'poison']);
  });

  it('splits out a person found by any of their ids, keeping the rest as Lambda wrote it', () => {
    const split = splitFailureObject(body, new Set(['anon-ana']));
    expect(split?.matching).toEqual([JSON.parse(JSON.stringify(ana))]);
    const rest = JSON.parse(split?.rest ?? '{}');
    expect(typeof rest.payload).toBe(payloadAs);
    const payload = payloadAs === 'string' ? JSON.parse(rest.payload) : rest.payload;
    expect(payload.Records.map((r: { kinesis: { partitionKey: string } }) => r.kinesis.partitionKey)).toEqual(
      ['bo', 'poison'],
    );
    expect(rest.KinesisBatchInfo).toEqual({ ...record.KinesisBatchInfo, batchSize: 2 });
    const { payload: _p, KinesisBatchInfo: _k, ...envelope } = rest;
    const { payload: _q, KinesisBatchInfo: _l, ...original } = record;
    expect(envelope).toEqual(original);
  });

  it('leaves nothing when every record is the person’s, and is untouched when none is', () => {
    const only = JSON.stringify(awsFailureRecord([bo], { payloadAs }));
    expect(splitFailureObject(only, new Set(['bo']))?.rest).toBeUndefined();
    expect(splitFailureObject(body, new Set(['nobody']))).toEqual({ matching: [], rest: body });
  });
});

describe('what is not an on-failure record', () => {
  it.each([
    ['not JSON', 'nope'],
    ['no payload', JSON.stringify({ version: '1.0' })],
    ['a payload without records', JSON.stringify({ payload: '{"foo":1}' })],
    ['a payload that is not JSON', JSON.stringify({ payload: '{' })],
  ])('%s: no ids, nothing to split', (_, body) => {
    expect(failureRecordIds(body)).toBeUndefined();
    expect(splitFailureObject(body, new Set(['ana']))).toBeUndefined();
  });
});
