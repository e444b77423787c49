import { Duration, Lazy, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { access } from '../access';
import { METRICS_NAMESPACE } from '../config';

export interface ObservabilityProps {
  /** Retention of every log group the stack creates. */
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Customer managed key (pulse:kmsKey=true): also encrypts the alarm topic. */
  readonly encryptionKey?: kms.IKey;
  /** Subscribed to the alarm topic when set. */
  readonly alarmEmail?: string;
  /** The stage: the functions' EMF metrics carry it as a dimension, so stages sharing an account stay apart. */
  readonly stage: string;
}

/**
 * Logging and alarm conventions: every log group comes from here (one retention, one removal
 * policy), and the alarms notify one SNS topic. Every alarm treats missing data as not breaching.
 */
export class Observability extends Construct {
  readonly alarmTopic: sns.Topic;
  private readonly props: ObservabilityProps;
  /** Every alarm made here: the only ones the topic policy lets CloudWatch publish for. */
  private readonly alarmArns: string[] = [];

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
    // A topic policy replaces SNS's default one, and enforceSSL creates one: without this statement
    // every alarm action fails ("no resource-based policy allows the SNS:Publish action"). CloudWatch
    // publishes as its service principal; the conditions keep it to this account's alarms of this stack.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisStack',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: { 'aws:SourceArn': Lazy.list({ produce: () => this.alarmArns }) },
        },
      }),
    );
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
    const alarm = new cloudwatch.Alarm(this, id, {
      // Quiet metrics are healthy ones: Lambda, API Gateway and EMF publish nothing when idle.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    this.alarmArns.push(alarm.alarmArn);
    return alarm;
  }

  /** An alarm on any occurrence: a sum of at least one in five minutes. */
  private anyOf(id: string, alarmDescription: string, metric: cloudwatch.IMetric): cloudwatch.Alarm {
    return this.alarm(id, {
      alarmDescription,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }

  /**
   * Destinations (docs/destinations.md), each destination its own contributor: destinations are
   * runtime data, so these are Metrics Insights multi-time-series alarms over the `Destination`
   * dimension the delivery rounds publish (functions/destinations/wiring.ts). A destination is
   * watched from its first metric on, and the alarm's contributors name the ones in trouble: messages
   * dead (the vendor refused them, or retries ran out), the circuit breaker pausing it, its outbox
   * falling behind.
   */
  watchDestinations(): void {
    const period = Duration.minutes(5);
    const perDestination = (fn: 'SUM' | 'MAX', metricName: string) =>
      new cloudwatch.MathExpression({
        expression: destinationQuery(fn, metricName, this.props.stage),
        period,
        label: metricName,
      });
    this.anyOf(
      'DestinationsDead',
      'Messages went dead at a destination (refused, or retried past 3 hours): the contributor names it; GET /api/destinations/{id}/status',
      perDestination('SUM', 'DeliveryDead'),
    );
    this.anyOf(
      'DestinationsPaused',
      'A destination kept failing and its circuit breaker paused it (the contributor names it): POST /api/destinations/{id}/resume once fixed',
      perDestination('SUM', 'DestinationPaused'),
    );
    this.alarm('DestinationsOverdue', {
      alarmDescription:
        "A destination's outbox messages wait more than 15 minutes past their due time (a vendor slower than the flow); the contributor names it",
      metric: perDestination('MAX', 'OutboxOverdueSeconds'),
      threshold: 900,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // Erasure forwarded to vendors: a deletion request refused, or retried past 3 hours, needs a person.
    this.anyOf(
      'ErasureForwardFailed',
      "A vendor's deletion request of an erasure failed (refused, or retried past 3 hours): GET /api/erasures/{erasureId}",
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ErasureForwardFailed',
        // The redrive forwards erasures (functions/destinations/forward-erasure.ts).
        dimensionsMap: {
          service: 'destinations/redrive' satisfies keyof typeof access,
          stage: this.props.stage,
        },
        period,
        statistic: cloudwatch.Stats.SUM,
      }),
    );
  }

  /** A scheduled job failing: nobody calls it, so nobody would notice otherwise. */
  watchSchedule(name: string, fn: lambda.IFunction): void {
    this.anyOf(
      `${name}Errors`,
      `Scheduled job ${name} is failing (segment tags past their window are not removed, backfills stall)`,
      fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
  }

  /**
   * The failure index failing: a failed batch it could not index is one erasure and export do not
   * find (the batch itself stays in the bucket until it expires).
   */
  watchFailureIndex(
    name: string,
    fn: lambda.IFunction,
    handlerModule: string,
    unindexedMetric: string,
  ): void {
    const sum = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    this.anyOf(
      `${name}Errors`,
      `${name} is failing: failed batches in the on-failure bucket are not indexed for erasure and export`,
      fn.metricErrors(sum),
    );
    // Its own EMF metric (as the consumer's RecordsQuarantined): an object it could not read as an
    // on-failure record, so nobody's data in it is indexed.
    this.anyOf(
      `${name}Unindexed`,
      `${name} found objects in the on-failure bucket that are not on-failure records (not indexed)`,
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: unindexedMetric,
        dimensionsMap: { service: handlerModule, stage: this.props.stage },
        ...sum,
      }),
    );
  }

  /**
   * A stream consumer in trouble: errors (batches retried, then sent to the on-failure bucket),
   * falling behind (the read models lag), poison records quarantined, batches given up on.
   */
  watchConsumer(consumer: ConsumerWatch): void {
    const { name, fn } = consumer;
    const sum = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    this.anyOf(
      `${name}Errors`,
      `Stream consumer ${name} is failing batches (retries, then the on-failure bucket)`,
      fn.metricErrors(sum),
    );
    this.alarm(`${name}IteratorAge`, {
      alarmDescription: `Stream consumer ${name} is more than a minute behind the stream`,
      metric: fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: Duration.minutes(1).toMilliseconds(),
      // Three minutes of five: a lag that lasts, not one slow batch.
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // The consumer's own EMF metric (Powertools Metrics): namespace from POWERTOOLS_METRICS_NAMESPACE,
    // and the one default dimension Powertools adds, `service`, from POWERTOOLS_SERVICE_NAME, which
    // the stack sets to the handler module. The alarm must name exactly that dimension set.
    this.anyOf(
      `${name}RecordsQuarantined`,
      `Stream consumer ${name} quarantined records it could not process (quarantine table)`,
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'RecordsQuarantined',
        dimensionsMap: { service: consumer.handlerModule, stage: this.props.stage },
        ...sum,
      }),
    );
    // Any error a stage of the batch caught (logged with its cause and the records it holds back):
    // those records are retried, and the alarm says so before they reach the on-failure bucket.
    this.anyOf(
      `${name}StageErrors`,
      `Stream consumer ${name} caught errors while applying batches (see its log: stage, cause, records)`,
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ConsumerErrors',
        dimensionsMap: { service: consumer.handlerModule, stage: this.props.stage },
        ...sum,
      }),
    );
    // Batches that landed in the on-failure bucket. Lambda's event source mapping metrics (EventCount
    // group, enabled on the mapping) count them natively. The alternative, S3 EventBridge
    // notifications, costs a custom-resource Lambda in the CDK, and the S3 NumberOfObjects metric is
    // daily only.
    const mapping = { EventSourceMappingUUID: consumer.eventSourceMappingId };
    this.anyOf(
      `${name}OnFailureDeliveries`,
      `Stream consumer ${name} gave up on records: they are in the on-failure bucket`,
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'OnFailureDestinationDeliveredEventCount',
        dimensionsMap: mapping,
        ...sum,
      }),
    );
    // Records lost: past the retry budget and not delivered to the bucket either.
    this.anyOf(
      `${name}DroppedRecords`,
      `Stream consumer ${name} dropped records that also failed to reach the on-failure bucket`,
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'DroppedEventCount',
        dimensionsMap: mapping,
        ...sum,
      }),
    );
  }

  /**
   * 5xx are our bugs (the contract never answers 500 for client input) or the stream refusing
   * writes. 429s are the stage's throttling or a source over its rate limit.
   */
  watchApi(api: ApiWatch): void {
    this.alarm('Api5xx', {
      alarmDescription: 'The HTTP API answered 5xx (function errors, or stream throttling after retries)',
      metric: api.metric5xx,
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    // HTTP APIs publish 4xx but no throttle count, so 429s are counted from the access log (one
    // metric per API, by its id, so stages sharing an account and region stay apart).
    const filter = new logs.MetricFilter(this, 'ApiThrottledFilter', {
      logGroup: api.accessLogGroup,
      // Only API Gateway's own throttling: it answers before any integration runs, so the
      // integration status is absent ("-"). A source over its own rate limit is answered by the
      // function (integration status set) and counted by the function's RateLimited metric.
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.status', '=', '429'),
        logs.FilterPattern.stringValue('$.integrationStatus', '=', '-'),
      ),
      metricNamespace: METRICS_NAMESPACE,
      metricName: API_THROTTLED_METRIC,
      metricValue: '1',
      dimensions: { ApiId: '$.apiId' },
      unit: cloudwatch.Unit.COUNT,
    });
    this.alarm('ApiThrottled', {
      alarmDescription:
        'API Gateway throttled requests (stage limits: raise pulse:throttleRateLimit / pulse:throttleBurstLimit)',
      metric: filter.metric({
        dimensionsMap: { ApiId: api.apiId },
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 10,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }
}

/**
 * A Metrics Insights query of one destination metric, one time series per destination: the exact
 * dimension set the delivery rounds publish (Powertools adds `service` and `stage`), summed over the
 * consumer and the redrive, this stage only.
 */
export const destinationQuery = (fn: 'SUM' | 'MAX', metricName: string, stage: string): string =>
  `SELECT ${fn}(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", Destination, service, stage) WHERE stage = '${stage}' GROUP BY Destination`;

/** Metric (namespace METRICS_NAMESPACE, dimension ApiId) counting the API's 429 answers. */
export const API_THROTTLED_METRIC = 'ApiThrottled';

export interface ConsumerWatch {
  /** Construct id prefix, e.g. `Aggregate`. */
  readonly name: string;
  readonly fn: lambda.IFunction;
  /** The handler module: the `service` dimension of the function's Powertools metrics. */
  readonly handlerModule: string;
  /** The consumer's event source mapping (its UUID, the dimension of the mapping's metrics). */
  readonly eventSourceMappingId: string;
}

export interface ApiWatch {
  readonly metric5xx: cloudwatch.IMetric;
  /** The access log, whose lines carry `status` and `apiId`. */
  readonly accessLogGroup: logs.ILogGroup;
  readonly apiId: string;
}
