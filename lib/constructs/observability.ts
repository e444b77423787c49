import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface ObservabilityProps {
  /** Retention of every log group the stack creates. */
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Customer managed key (pulse:kmsKey=true): also encrypts the alarm topic. */
  readonly encryptionKey?: kms.IKey;
  /** Subscribed to the alarm topic when set. */
  readonly alarmEmail?: string;
}

/**
 * Logging and alarm conventions: every log group comes from here (one retention, one removal
 * policy), and the alarms notify one SNS topic.
 */
export class Observability extends Construct {
  readonly alarmTopic: sns.Topic;
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;

    // Unencrypted unless the stack has its own key: notifications carry alarm names and states, no
    // event data, and CloudWatch cannot publish to a topic under the AWS managed aws/sns key.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Pulse alarms',
      enforceSSL: true,
      ...(props.encryptionKey ? { masterKey: props.encryptionKey } : {}),
    });
    if (props.encryptionKey) {
      // CloudWatch publishes alarm notifications through the topic's key.
      props.encryptionKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
    }
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
  }

  /** A log group with the stack's retention and removal policy; its name is left to CloudFormation. */
  logGroup(scope: Construct, id: string): logs.LogGroup {
    return new logs.LogGroup(scope, id, {
      retention: this.props.logRetention,
      removalPolicy: this.props.removalPolicy,
    });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    return alarm;
  }

  /**
   * A stream consumer that errors or falls behind: errors mean batches are being retried (and,
   * past the retry budget, sent to the on-failure bucket); iterator age means the read models lag.
   */
  watchConsumer(name: string, fn: lambda.IFunction): void {
    this.alarm(`${name}Errors`, {
      alarmDescription: `Stream consumer ${name} is failing batches (retries, then the on-failure bucket)`,
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(`${name}IteratorAge`, {
      alarmDescription: `Stream consumer ${name} is more than 5 minutes behind the stream`,
      metric: fn.metric('IteratorAge', { period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: Duration.minutes(5).toMilliseconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** 5xx are our bugs (the contract never answers 500 for client input) or the stream refusing writes. */
  watchApi(metric5xx: cloudwatch.IMetric): void {
    this.alarm('Api5xx', {
      alarmDescription: 'The HTTP API answered 5xx (function errors, or stream throttling after retries)',
      metric: metric5xx,
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
