/**
 * Every alarm the stack keeps: its metric (namespace, name, dimensions, statistic, period), its
 * threshold, that missing data is not breaching, and that it notifies the alarm topic. What feeds
 * the metrics is checked too: the event source mapping's EventCount metrics, the access log's
 * metric filter, and the Powertools dimension the consumer's EMF metric carries.
 */

import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../lib/config';
import { pascal } from '../../lib/constructs/tables';
import { schedules } from '../../lib/schedules';
import { failureIndexer, streamConsumers } from '../../lib/stream';
import { modelWorkflow } from '../../lib/workflows';
import { type CfnResourceJson, resourceById, resourcesOfType, synth } from '../support/synth';

const { json, stack, logicalId } = synth();
const topicId = logicalId(stack.observability.alarmTopic);
const apiId = logicalId(stack.api.httpApi);

const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');

/** The one alarm whose construct id (under Observability) is `id`. */
const alarm = (id: string): CfnResourceJson['Properties'] => {
  const found = alarms.filter(([logical]) => logical.startsWith(`Observability${id}`));
  expect(
    found.map(([l]) => l),
    id,
  ).toHaveLength(1);
  return found[0]?.[1].Properties ?? {};
};

const dims = (d: Record<string, unknown>) =>
  Object.entries(d)
    .map(([Name, Value]) => ({ Name, Value }))
    .sort((a, b) => a.Name.localeCompare(b.Name));

const fnId = (handlerModule: string) => logicalId(stack.functions.get(handlerModule)?.fn as never);

const expected = [
  {
    id: `${pascal(failureIndexer.name)}Errors`,
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: dims({ FunctionName: { Ref: fnId(failureIndexer.handler) } }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  {
    id: `${pascal(failureIndexer.name)}Unindexed`,
    Namespace: METRICS_NAMESPACE,
    MetricName: 'FailedBatchesUnindexed',
    Dimensions: dims({ service: failureIndexer.handler, stage: stack.settings.stage }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  ...streamConsumers.flatMap((c) => {
    const name = pascal(c.name);
    const [mappingId] =
      resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').find(
        ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === fnId(c.handler),
      ) ?? [];
    return [
      {
        id: `${name}Errors`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: dims({ FunctionName: { Ref: fnId(c.handler) } }),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      },
      {
        id: `${name}IteratorAge`,
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Dimensions: dims({ FunctionName: { Ref: fnId(c.handler) } }),
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 60_000,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
      },
      {
        id: `${name}RecordsQuarantined`,
        Namespace: METRICS_NAMESPACE,
        MetricName: 'RecordsQuarantined',
        // Powertools Metrics' default dimension: service = POWERTOOLS_SERVICE_NAME = the module.
        Dimensions: dims({ service: c.handler, stage: stack.settings.stage }),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      },
      {
        id: `${name}StageErrors`,
        Namespace: METRICS_NAMESPACE,
        MetricName: 'ConsumerErrors',
        Dimensions: dims({ service: c.handler, stage: stack.settings.stage }),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      },
      {
        id: `${name}OnFailureDeliveries`,
        Namespace: 'AWS/Lambda',
        MetricName: 'OnFailureDestinationDeliveredEventCount',
        Dimensions: dims({ EventSourceMappingUUID: { Ref: mappingId } }),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      },
      {
        id: `${name}DroppedRecords`,
        Namespace: 'AWS/Lambda',
        MetricName: 'DroppedEventCount',
        Dimensions: dims({ EventSourceMappingUUID: { Ref: mappingId } }),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      },
    ];
  }),
  // A scheduled job nobody calls: its errors are the only sign it stopped working.
  ...schedules.map((sc) => ({
    id: `${pascal(sc.name)}Errors`,
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: dims({ FunctionName: { Ref: fnId(sc.handler) } }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  })),
  // predictions: the workflow's steps function (docs/models.md)
  {
    id: 'ModelStepsErrors',
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: dims({ FunctionName: { Ref: fnId(modelWorkflow.handler) } }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  {
    id: 'Api5xx',
    Namespace: 'AWS/ApiGateway',
    MetricName: '5xx',
    Dimensions: dims({ ApiId: { Ref: apiId } }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 5,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  // Erasure forwarded to vendors: any deletion request failed for good.
  {
    id: 'ErasureForwardFailed',
    Namespace: METRICS_NAMESPACE,
    MetricName: 'ErasureForwardFailed',
    Dimensions: dims({ service: 'destinations/redrive', stage: stack.settings.stage }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  {
    id: 'ApiThrottled',
    Namespace: METRICS_NAMESPACE,
    MetricName: 'ApiThrottled',
    Dimensions: dims({ ApiId: { Ref: apiId } }),
    Statistic: 'Sum',
    Period: 300,
    Threshold: 10,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
];

/**
 * Destinations: Metrics Insights multi-time-series alarms, one contributor per destination, over the
 * exact dimension set the delivery rounds publish (Destination, and Powertools' service and stage).
 */
const perDestination = [
  {
    id: 'DestinationsDead',
    query: `SELECT SUM(DeliveryDead) FROM SCHEMA("Pulse", Destination, service, stage) WHERE stage = '${stack.settings.stage}' GROUP BY Destination`,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  {
    id: 'DestinationsPaused',
    query: `SELECT SUM(DestinationPaused) FROM SCHEMA("Pulse", Destination, service, stage) WHERE stage = '${stack.settings.stage}' GROUP BY Destination`,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
  },
  {
    id: 'DestinationsOverdue',
    query: `SELECT MAX(OutboxOverdueSeconds) FROM SCHEMA("Pulse", Destination, service, stage) WHERE stage = '${stack.settings.stage}' GROUP BY Destination`,
    Threshold: 900,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 3,
  },
] as const;

describe('alarms', () => {
  it('are exactly the expected ones', () => {
    expect(alarms).toHaveLength(expected.length + perDestination.length);
  });

  it.each(perDestination.map((p) => [p.id, p] as const))(
    '%s: one contributor per destination (Metrics Insights)',
    (id, want) => {
      const { id: _id, query, ...rest } = want;
      const props = alarm(id);
      expect(props).toMatchObject({ ...rest, TreatMissingData: 'notBreaching' });
      expect(props.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(props.MetricName).toBeUndefined();
      // The query itself, over five minutes, is the alarm's one time-series source.
      expect(props.Metrics).toEqual([
        {
          Id: expect.any(String),
          Expression: query,
          Label: expect.any(String),
          Period: 300,
          ReturnData: true,
        },
      ]);
      expect(String(props.AlarmDescription)).toContain('contributor');
    },
  );

  it('read the namespace and stage the functions publish under', () => {
    expect(METRICS_NAMESPACE).toBe('Pulse');
    const fn = resourceById(json, fnId('destinations/redrive')).Properties;
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
  });

  it.each(expected.map((e) => [e.id, e] as const))('%s', (id, want) => {
    const { id: _id, Dimensions, ...rest } = want;
    const props = alarm(id);
    expect(props).toMatchObject(rest);
    expect(
      [...((props.Dimensions as { Name: string }[] | undefined) ?? [])].sort((a, b) =>
        a.Name.localeCompare(b.Name),
      ),
    ).toEqual(Dimensions);
    if (!('DatapointsToAlarm' in want)) expect(props.DatapointsToAlarm).toBeUndefined();
    expect(props.TreatMissingData).toBe('notBreaching');
    expect(props.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(String(props.AlarmDescription ?? '').length).toBeGreaterThan(20);
  });
});

describe('what feeds them', () => {
  it('the event source mappings publish their EventCount metrics', () => {
    for (const [, m] of resourcesOfType(json, 'AWS::Lambda::EventSourceMapping')) {
      expect(m.Properties.MetricsConfig).toEqual({ Metrics: ['EventCount'] });
    }
  });

  it('the consumers name their Powertools service after the module (the quarantine dimension)', () => {
    for (const c of streamConsumers) {
      const fn = resourceById(json, fnId(c.handler)).Properties;
      expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: c.handler,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
    }
  });

  it('a metric filter counts 429 lines of the access log, by API id', () => {
    const filters = resourcesOfType(json, 'AWS::Logs::MetricFilter');
    expect(filters).toHaveLength(1);
    const props = filters[0]?.[1].Properties ?? {};
    const accessLog = resourcesOfType(json, 'AWS::ApiGatewayV2::Stage')[0]?.[1].Properties
      .AccessLogSettings as {
      DestinationArn: { 'Fn::GetAtt': [string, string] };
      Format: string;
    };
    expect(props.LogGroupName).toEqual({ Ref: accessLog.DestinationArn['Fn::GetAtt'][0] });
    // API Gateway's own throttling only: no integration ran, so its status is "-".
    expect(props.FilterPattern).toBe('{ ($.status = "429") && ($.integrationStatus = "-") }');
    expect(props.MetricTransformations).toEqual([
      {
        MetricNamespace: METRICS_NAMESPACE,
        MetricName: 'ApiThrottled',
        MetricValue: '1',
        Dimensions: [{ Key: 'ApiId', Value: '$.apiId' }],
        Unit: 'Count',
      },
    ]);
    // The fields the filter reads are in every access log line.
    expect(JSON.parse(accessLog.Format)).toMatchObject({
      status: '$context.status',
      apiId: '$context.apiId',
    });
  });
});

describe('alarm topic', () => {
  // Issue #21: a topic policy replaces SNS's default, so without this every alarm action fails.
  it('lets CloudWatch publish for exactly the alarms of this stack, in this account', () => {
    const [[policyId] = []] = resourcesOfType(json, 'AWS::SNS::TopicPolicy');
    const statements = (
      resourceById(json, policyId as string).Properties.PolicyDocument as {
        Statement: Record<string, unknown>[];
      }
    ).Statement;
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const allow = allows[0] as Record<string, unknown> & {
      Condition: Record<string, Record<string, unknown>>;
    };
    expect(allow.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    expect(allow.Action).toBe('sns:Publish');
    expect(allow.Resource).toEqual({ Ref: topicId });
    expect(allow.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    const alarmIds = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarmIds.length).toBeGreaterThan(5);
    const sourceArns = allow.Condition.ArnLike?.['aws:SourceArn'] as unknown[];
    expect(sourceArns.map((a) => JSON.stringify(a)).sort()).toEqual(
      alarmIds.map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })).sort(),
    );
    // Every alarm notifies this topic, so every alarm is one the policy names.
    for (const [id, alarm] of resourcesOfType(json, 'AWS::CloudWatch::Alarm'))
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
  });

  it('refuses publishers without TLS (cdk-nag SNS3)', () => {
    const policies = resourcesOfType(json, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    expect(policies[0]?.[1].Properties.Topics).toEqual([{ Ref: topicId }]);
    expect(policies[0]?.[1].Properties.PolicyDocument).toMatchObject({
      Statement: expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sns:Publish',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    });
  });
});
