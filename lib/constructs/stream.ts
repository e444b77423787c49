import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { eventStream } from '../stream';

export type ShardMode = 'on-demand' | 'provisioned';

export interface EventStreamProps {
  readonly shardMode: ShardMode;
  /** Only used in provisioned mode. */
  readonly shardCount: number;
  /** Customer managed key (pulse:kmsKey=true); the AWS managed aws/kinesis key otherwise. */
  readonly encryptionKey?: kms.IKey;
}

/** The engagement stream (lib/stream.ts): the only hand-off between ingest and the read models. */
export class EventStream extends Construct {
  readonly stream: kinesis.Stream;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    this.stream = new kinesis.Stream(this, 'Stream', {
      retentionPeriod: Duration.hours(eventStream.retentionHours),
      ...(props.shardMode === 'provisioned'
        ? { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: props.shardCount }
        : { streamMode: kinesis.StreamMode.ON_DEMAND }),
      ...(props.encryptionKey
        ? { encryption: kinesis.StreamEncryption.KMS, encryptionKey: props.encryptionKey }
        : { encryption: kinesis.StreamEncryption.MANAGED }),
      // Deleted with the stack whatever pulse:removalPolicy says: the stream is a 24-hour buffer, not a
      // store of record (the tables are), and a retained one keeps billing by the hour (on demand:
      // about $29 a month) for a stage nobody runs any more.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    if (props.encryptionKey) {
      Validations.of(this.stream).acknowledge({
        id: 'AwsSolutions-KDS3',
        reason:
          'The customer managed key is opt-in (pulse:kmsKey=true) for deployments whose compliance ' +
          'requires one; the default uses the aws/kinesis key as this rule recommends.',
      });
    }
  }
}
