/**
 * eventbridge destinations in the template: the stack's engagement bus, its outputs, and
 * events:PutEvents granted to exactly the delivering functions on exactly the stack's bus and the
 * buses pulse:eventBuses lists (names in the stack's account and region, or ARNs) — never `*`.
 */
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { access } from '../../lib/access';
import { readSettings } from '../../lib/pulse-stack';
import { grantedPairs } from '../support/iam';
import { allHandlerModules, resourcesOfType, synth } from '../support/synth';

const ORDERS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/orders';
const synthesized = synth({ context: { 'pulse:eventBuses': `crm-sync, ${ORDERS_ARN}` } });
const { json, stack, logicalId, template } = synthesized;
const busPairs = (handlerModule: string) =>
  grantedPairs(synthesized, handlerModule).filter((p) => p.startsWith('events:'));

describe('the engagement bus', () => {
  it('is created as pulse-engagement-<stage>, with its name and ARN as outputs', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'pulse-engagement-dev' });
    const busId = logicalId(stack.eventBuses.engagementBus);
    expect(json.Outputs?.EngagementBusName?.Value).toEqual({ Ref: busId });
    expect(json.Outputs?.EngagementBusArn?.Value).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
  });
});

describe('events:PutEvents', () => {
  const delivering = ['destinations/consumer', 'destinations/redrive'];

  it('is declared for the delivering functions only', () => {
    expect(
      Object.entries(access)
        .filter(([, decl]) => 'eventBuses' in decl)
        .map(([m]) => m)
        .sort(),
    ).toEqual(delivering);
  });

  it.each(delivering)('%s may put events on the stack bus and the listed buses, nothing else', (m) => {
    expect(busPairs(m)).toEqual([
      `events:PutEvents bus:${ORDERS_ARN}`,
      'events:PutEvents bus:crm-sync',
      'events:PutEvents bus:engagement',
    ]);
  });

  it('names a listed bus name in the stack account and region', () => {
    const policies = JSON.stringify(resourcesOfType(json, 'AWS::IAM::Policy'));
    expect(policies).toContain(':event-bus/crm-sync');
    expect(policies).not.toMatch(/"events:\*"|event-bus\/\*/);
  });

  it('is granted to no other function', () => {
    for (const m of allHandlerModules().filter((x) => !delivering.includes(x)))
      expect(busPairs(m)).toEqual([]);
  });

  it('keeps cdk-nag clean', () => {
    const violations = new AwsSolutionsChecks()
      .validateScope(synthesized.app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath ?? ''}`));
    expect(violations).toEqual([]);
  });
});

describe('pulse:eventBuses', () => {
  const settings = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

  it('takes names and ARNs, comma-separated or as a JSON list, without repeats', () => {
    expect(settings({ 'pulse:eventBuses': 'a, b,a' }).eventBuses).toEqual(['a', 'b']);
    expect(settings({ 'pulse:eventBuses': [ORDERS_ARN] }).eventBuses).toEqual([ORDERS_ARN]);
  });

  it.each([
    '*',
    'arn:aws:events:eu-west-1:123456789012:event-bus/*',
    'arn:aws:sns:eu-west-1:123456789012:topic',
  ])('refuses %s: the grant stays bounded', (bus) => {
    expect(() => settings({ 'pulse:eventBuses': bus })).toThrow(
      /pulse:eventBuses must be event bus names or ARNs/,
    );
  });
});
