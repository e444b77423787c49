import { CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { WorkflowDef } from '../workflows';

/** One step runs one Scan segment or one fit: 15 minutes is Lambda's most, and 8 segments keep each short. */
export const WORKFLOW_STEP_SIZING = { memorySize: 3008, timeout: Duration.minutes(15) } as const;

export interface ModelWorkflowProps {
  readonly def: WorkflowDef;
  /** The function serving every step. */
  readonly steps: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
}

/**
 * The predictions workflow (docs/models.md): every `everyMinutes` EventBridge starts it; `plan`
 * lists the models requested or due, and for each, one after another: extract (a Map over the
 * Scan segments, in parallel) → train (evaluate, judge) → if the gate passed, publish and score
 * (a Map over the segments again) → finish (the run's summary on the model). A refused model
 * goes straight to finish, its version kept for its metrics and never published.
 */
export class ModelWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ModelWorkflowProps) {
    super(scope, id);
    const step = (name: string, payload: Record<string, unknown>, resultPath?: string) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.steps,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        ...(resultPath === undefined ? {} : { resultPath }),
      });
    const perSegment = (name: string, stepName: 'extract' | 'score', resultPath: string) =>
      new sfn.Map(this, name, {
        itemsPath: '$.segments',
        maxConcurrency: props.def.segments,
        resultPath,
      }).itemProcessor(step(`${name}Segment`, { step: stepName, 'input.$': '$' }));

    const finish = step('Finish', { step: 'finish', 'input.$': '$' }, sfn.JsonPath.DISCARD);
    const publishAndScore = step('Publish', { step: 'publish', 'input.$': '$' }, sfn.JsonPath.DISCARD)
      .next(perSegment('Score', 'score', '$.scores'))
      .next(finish);
    const run = perSegment('Extract', 'extract', sfn.JsonPath.DISCARD)
      .next(step('Train', { step: 'train', 'input.$': '$' }, '$.trained'))
      .next(
        new sfn.Choice(this, 'Gate')
          .when(sfn.Condition.booleanEquals('$.trained.passed', true), publishAndScore)
          .otherwise(finish),
      );
    const definition = step('Plan', { step: 'plan' }, '$.plan').next(
      new sfn.Map(this, 'Runs', { itemsPath: '$.plan.runs', maxConcurrency: 1 }).itemProcessor(run),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      // Every state transition, without the data (a run's input holds model names and counts only).
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // LambdaInvoke grants the function's ARN and `<arn>:*` (its versions and aliases); X-Ray's
    // trace actions take no resource.
    const role = this.stateMachine.role;
    if (props.steps.node.defaultChild instanceof CfnResource) {
      const fnId = Stack.of(this).resolve(props.steps.node.defaultChild.logicalId);
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
        reason:
          'Step Functions invokes the one steps function; the :* suffix covers its versions and aliases only.',
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing of the workflow: PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
    });
    this.rule = new events.Rule(this, 'Every', {
      description: `Pulse ${props.def.name}: ${props.def.summary}`,
      schedule: events.Schedule.rate(Duration.minutes(props.def.everyMinutes)),
    });
    this.rule.addTarget(new targets.SfnStateMachine(this.stateMachine));
  }
}
