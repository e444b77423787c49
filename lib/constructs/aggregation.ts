import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, S3OnFailureDestination } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ConsumerSettings } from '../stream';
import { acknowledgeObjectWildcard } from './functions';

/**
 * S3OnFailureDestination, granting only what Lambda needs to write a failed batch (s3:PutObject on
 * the objects, s3:ListBucket on the bucket, per the Lambda docs) instead of the CDK's
 * grantReadWrite, which would also let the consumer read and delete every quarantined batch.
 */
export class PutOnlyS3OnFailureDestination extends S3OnFailureDestination {
  private readonly destinationBucket: s3.IBucket;

  constructor(bucket: s3.IBucket) {
    super(bucket);
    this.destinationBucket = bucket;
  }

  override bind(
    _target: lambda.IEventSourceMapping,
    targetHandler: lambda.IFunction,
  ): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.destinationBucket.arnForObjects('*')],
      }),
    );
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.destinationBucket.bucketArn] }),
    );
    if (targetHandler.role) {
      acknowledgeObjectWildcard(
        targetHandler.role,
        this.destinationBucket,
        'Lambda names the objects of failed batches itself, so PutObject must cover every key of the ' +
          'on-failure bucket; the statement allows nothing else (no read, no delete) and one bucket only.',
      );
    }
    return { destination: this.destinationBucket.bucketArn };
  }
}

export interface AggregationProps {
  /** Days a failed batch stays in the on-failure bucket (it holds event payloads: personal data). */
  readonly failureRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

export interface ConsumerWiring {
  readonly stream: kinesis.IStream;
  readonly consumers: readonly ConsumerSettings[];
  /** The function serving a consumer's handler module. */
  readonly functionFor: (handlerModule: string) => lambda.IFunction;
}

const startingPosition = (p: ConsumerSettings['startingPosition']): lambda.StartingPosition =>
  p === 'LATEST' ? lambda.StartingPosition.LATEST : lambda.StartingPosition.TRIM_HORIZON;

/**
 * Stream consumers (lib/stream.ts) wired to their functions with exactly the declared event source
 * mapping settings, and the last-resort on-failure bucket behind them. Two steps: the buckets
 * first (the privacy function needs the failure bucket before it exists), then `connect`.
 */
export class Aggregation extends Construct {
  readonly failureBucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  private readonly sources = new Map<string, KinesisEventSource>();

  constructor(scope: Construct, id: string, props: AggregationProps) {
    super(scope, id);

    // Server access logs of the failure bucket (who read or deleted quarantined batches). It does not
    // log itself: cdk-nag's S1 accepts a bucket that is a log target.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      // S3 server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Object ownership left to the CDK: log delivery is granted by bucket policy
      // (@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy), so ACLs stay disabled.
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: props.removalPolicy,
    });

    // The on-failure destination is S3, not SQS or SNS: for stream sources those carry only the shard
    // id and sequence numbers of a failed batch (the records may have expired from the stream when
    // someone looks), whereas S3 receives the invocation record with the records' payload.
    this.failureBucket = new s3.Bucket(this, 'FailureBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      // Failed batches hold event payloads: expire them so the store stays bounded and erasable.
      lifecycleRules: [{ expiration: Duration.days(props.failureRetentionDays) }],
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'failure-bucket/',
      removalPolicy: props.removalPolicy,
    });
  }

  /**
   * Every object Lambda writes to the failure bucket invokes `indexer` (S3 "Object Created", through
   * EventBridge). Not an S3 notification straight to Lambda: with a generated bucket name that is a
   * dependency cycle (bucket -> function -> its role's policy -> bucket), which the CDK breaks with a
   * custom-resource Lambda of its own (a managed policy, s3:PutBucketNotification on `*`). EventBridge
   * delivery is a property of the bucket, and the rule depends on the bucket, not the reverse.
   */
  indexFailures(indexer: lambda.IFunction): events.Rule {
    const cfnBucket = this.failureBucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
    return new events.Rule(this, 'FailureIndexRule', {
      description: 'Index each failed batch written to the on-failure bucket (erasure and export read it)',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [this.failureBucket.bucketName] } },
      },
      // Lambda's async invocation retries function errors twice; the indexer's Errors alarm reports the rest.
      targets: [new targets.LambdaFunction(indexer)],
    });
  }

  /** Event source mappings by consumer name (after `connect`). */
  get eventSources(): ReadonlyMap<string, KinesisEventSource> {
    return this.sources;
  }

  /** One event source mapping per consumer, failing over to the bucket. */
  connect(props: ConsumerWiring): void {
    const onFailure = new PutOnlyS3OnFailureDestination(this.failureBucket);
    for (const consumer of props.consumers) {
      const source = new KinesisEventSource(props.stream, {
        batchSize: consumer.batchSize,
        maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
        bisectBatchOnError: consumer.bisectBatchOnError,
        retryAttempts: consumer.retryAttempts,
        maxRecordAge: Duration.seconds(consumer.maxRecordAgeSeconds),
        reportBatchItemFailures: consumer.reportBatchItemFailures,
        parallelizationFactor: consumer.parallelizationFactor,
        startingPosition: startingPosition(consumer.startingPosition),
        onFailure,
        // EventCount metrics (OnFailureDestinationDeliveredEventCount, DroppedEventCount) feed the
        // alarms on batches given up on; standard CloudWatch metric charges apply.
        metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
      });
      props.functionFor(consumer.handler).addEventSource(source);
      this.sources.set(consumer.name, source);
    }
  }
}
