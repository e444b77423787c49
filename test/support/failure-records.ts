/**
 * An on-failure record exactly as Lambda writes it to an S3 destination for a Kinesis event source
 * mapping, per the Lambda developer guide ("Retain discarded batch records for a Kinesis Data
 * Streams event source"): requestContext, responseContext, version, timestamp, KinesisBatchInfo
 * (the guide's Kinesis example values), and `payload`, the whole invocation event — documented as
 * an escaped JSON string; `payloadAs: 'object'` writes it as a JSON object instead.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { CanonicalEvent } from '../../functions/core/events';
import { sequenceNumber, toRecord } from './stream-records';

export const DOC_SHARD = 'shardId-000000000001';

export const awsFailureRecord = (
  events: readonly (CanonicalEvent | string)[],
  options: { payloadAs?: 'string' | 'object'; timestamp?: Date } = {},
) => {
  const records: KinesisStreamRecord[] = events.map((e, i) => toRecord(e, i, DOC_SHARD));
  const event: KinesisStreamEvent = { Records: records };
  const first = records[0]?.kinesis.sequenceNumber ?? sequenceNumber(0);
  const last = records.at(-1)?.kinesis.sequenceNumber ?? first;
  return {
    requestContext: {
      requestId: 'c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5',
      functionArn: 'arn:aws:lambda:us-east-2:123456789012:function:myfunction',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 1,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: (options.timestamp ?? new Date('2019-11-14T00:38:06.021Z')).toISOString(),
    KinesisBatchInfo: {
      shardId: DOC_SHARD,
      startSequenceNumber: first,
      endSequenceNumber: last,
      approximateArrivalOfFirstRecord: '2019-11-14T00:38:04.835Z',
      approximateArrivalOfLastRecord: '2019-11-14T00:38:05.580Z',
      batchSize: records.length,
      streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/mystream',
    },
    payload: options.payloadAs === 'object' ? event : JSON.stringify(event),
  };
};

/** An object key as Lambda names them: aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>. */
export const awsFailureKey = (n: number, at = new Date('2019-11-14T00:38:06Z')) => {
  const iso = at.toISOString();
  const suffix = String(n).padStart(12, '0');
  return `aws/lambda/f89f8514-cdd9-4602-9e1f-01a5b77d449b/${DOC_SHARD}/${iso.slice(0, 10).replace(/-/g, '/')}/${iso.slice(0, 10)}T${iso.slice(11, 19).replace(/:/g, '.')}-00000000-0000-4000-8000-${suffix}`;
};
