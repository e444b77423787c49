/** The KinesisStreamEvent Lambda builds from a batch of records: what the consumer is invoked with. */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, localFunctionName } from './lambda';

export interface KinesisEventSource {
  shardId: string;
  streamArn: string;
  region: string;
  /** The consumer's name in lib/stream.ts (its role name is derived from it). */
  consumer: string;
}

export const kinesisStreamEvent = (
  records: readonly KinesisRecord[],
  source: KinesisEventSource,
): KinesisStreamEvent => ({
  Records: records.map(
    (r): KinesisStreamRecord => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey as string,
        sequenceNumber: r.SequenceNumber as string,
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${source.shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${localFunctionName(source.consumer)}-role`,
      awsRegion: source.region,
      eventSourceARN: source.streamArn,
    }),
  ),
});
