/**
 * Scheduled functions (lib/schedules.ts): one function and one EventBridge rule per entry, at the
 * declared rate, invoking that function alone with the whole scheduled event (the handler reads its
 * `time`); only that rule may invoke it, and its role is what lib/access.ts declares.
 */
import { describe, expect, it } from 'vitest';
import { schedules } from '../../lib/schedules';
import { expectedPairs, grantedPairs } from '../support/iam';
import { type CfnResourceJson, resourceById, resourcesOfType, synth } from '../support/synth';

const synthesized = synth();
const { json, stack, template, logicalId } = synthesized;

const functionId = (handlerModule: string): string => {
  const fn = stack.functions.get(handlerModule);
  if (!fn) throw new Error(`no function for ${handlerModule}`);
  return logicalId(fn.fn);
};

const ruleOf = (name: string): [string, CfnResourceJson] => {
  const rule = stack.schedules.rules.get(name);
  if (!rule) throw new Error(`no rule for schedule ${name}`);
  const id = logicalId(rule);
  return [id, resourceById(json, id)];
};

/** EventBridge's rate syntax, written out: singular unit for 1. */
const rateOf = (minutes: number) => (minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`);

describe('schedules', () => {
  it('make exactly one rule each, and no other rule (but the failure index has)', () => {
    // + the failure index's rule, + the predictions workflow's (docs/models.md).
    template.resourceCountIs('AWS::Events::Rule', schedules.length + 2);
    expect([...stack.schedules.rules.keys()].sort()).toEqual(schedules.map((s) => s.name).sort());
  });

  describe.each(schedules.map((s) => [s.name, s] as const))('%s', (name, def) => {
    const fnId = functionId(def.handler);
    const [ruleId, rule] = ruleOf(name);

    it('has its own function', () => {
      expect(resourceById(json, fnId).Type).toBe('AWS::Lambda::Function');
    });

    it('fires at the declared rate and targets that function alone, with the whole event', () => {
      const { Tags: _tags, ...props } = rule.Properties;
      expect(props).toEqual({
        Description: expect.stringContaining(name),
        ScheduleExpression: rateOf(def.everyMinutes),
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
            Id: 'Target0',
            // No Input or InputTransformer: the handler gets the scheduled event and its `time`.
            // A run not delivered within one period is superseded by the next.
            RetryPolicy: { MaximumEventAgeInSeconds: Math.min(def.everyMinutes * 60, 86_400) },
          },
        ],
      });
    });

    it('is the only thing allowed to invoke the function', () => {
      const invokers = resourcesOfType(json, 'AWS::Lambda::Permission')
        .map(([, p]) => p.Properties)
        .filter((p) => JSON.stringify(p.FunctionName).includes(`"${fnId}"`));
      expect(invokers).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
        },
      ]);
    });

    it('is no route, consumer or other schedule target', () => {
      const calls = JSON.stringify(
        Object.entries(json.Resources)
          .filter(([id]) => id !== ruleId)
          .filter(([, r]) =>
            [
              'AWS::ApiGatewayV2::Integration',
              'AWS::Lambda::EventSourceMapping',
              'AWS::Events::Rule',
            ].includes(r.Type),
          ),
      );
      expect(calls).not.toContain(`"${fnId}"`);
    });

    it('has the role of its lib/access.ts declaration, and that alone', () => {
      expect(grantedPairs(synthesized, def.handler)).toEqual(expectedPairs(def.handler));
    });
  });

  // Spelled out, not derived: widening the sweep's declaration must fail here too.
  it('segments sweep: tags (with the due-check index) read and written, users read, triggers, nothing else', () => {
    const tagsActions = [
      'BatchGetItem',
      'BatchWriteItem',
      'DeleteItem',
      'GetItem',
      'PutItem',
      'Query',
      'Scan',
      'UpdateItem',
    ];
    expect(grantedPairs(synthesized, 'segments/sweep')).toEqual(
      [
        ...tagsActions.map((a) => `dynamodb:${a} table:tags`),
        ...tagsActions.map((a) => `dynamodb:${a} table:tags/index/byNextCheck`),
        ...['BatchGetItem', 'GetItem', 'Query', 'Scan'].map((a) => `dynamodb:${a} table:users`),
        // Destinations: segment enter/leave triggers (who follows a segment; the outbox).
        ...['BatchGetItem', 'GetItem', 'Query', 'Scan'].map((a) => `dynamodb:${a} table:destinations`),
        ...['BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} table:outbox`),
        'logs:CreateLogStream own-log-group',
        'logs:PutLogEvents own-log-group',
      ].sort(),
    );
  });

  it('segments sweep: 120 s, room for a minute of work before its 10 s safety margin', () => {
    const props = resourceById(json, functionId('segments/sweep')).Properties;
    expect(props.Timeout).toBe(120);
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Architectures).toEqual(['arm64']);
  });
});
