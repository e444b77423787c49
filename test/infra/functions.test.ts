import type * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { accessFor } from '../../lib/access';
import { archive } from '../../lib/archive';
import { type BucketName, buckets } from '../../lib/buckets';
import { ENV, METRICS_NAMESPACE } from '../../lib/config';
import { functionEnvironment } from '../../lib/environment';
import { SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { schedules } from '../../lib/schedules';
import { eventStream, streamConsumers } from '../../lib/stream';
import { type TableName, tableList } from '../../lib/tables';
import { modelWorkflow } from '../../lib/workflows';
import { allHandlerModules, type CfnResourceJson, synth } from '../support/synth';

const { json, stack, template, logicalId } = synth();

// The archive's Firehose transformation works on stream records as the consumers do.
const consumerModules = new Set([...streamConsumers.map((c) => c.handler), archive.transform.handler]);
const scheduledModules = new Set<string>(schedules.map((s) => s.handler));

const functionResource = (handlerModule: string): CfnResourceJson => {
  const fn = stack.functions.get(handlerModule);
  if (!fn) throw new Error(`no function for ${handlerModule}`);
  const resource = json.Resources[logicalId(fn.fn)];
  if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`${handlerModule}: not a function`);
  return resource;
};

describe('functions', () => {
  it('exist once per handler module (routes, fallback, consumers, schedules) and no more', () => {
    expect([...stack.functions.keys()].sort()).toEqual(allHandlerModules().sort());
    // console (issue 18): plus the CDK's BucketDeployment function, which copies the console's build.
    template.resourceCountIs('AWS::Lambda::Function', allHandlerModules().length + 1);
  });

  describe.each(allHandlerModules())('%s', (handlerModule) => {
    const props = functionResource(handlerModule).Properties ?? {};

    it('runs Node.js 24 on arm64, from an ESM bundle', () => {
      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
    });

    it('is sized for its job', () => {
      let [memory, timeout] = consumerModules.has(handlerModule)
        ? [1024, 60]
        : // Scheduled jobs work in slices that stop 10 s before the deadline: room for a minute of work.
          scheduledModules.has(handlerModule)
          ? [512, 120]
          : // Erasure and export walk every personal table and failed batch, within HTTP API's 30 s.
            handlerModule === 'privacy/privacy'
            ? [1024, 29]
            : [512, 10];
      // predictions: a workflow step scans a segment or fits a model (docs/models.md).
      if (handlerModule === modelWorkflow.handler) [memory, timeout] = [3008, 900];
      expect(props.MemorySize).toBe(memory);
      expect(props.Timeout).toBe(timeout);
    });

    it('logs to its own log group with the configured retention', () => {
      const ref = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const logGroup = json.Resources[ref];
      expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup?.Properties.RetentionInDays).toBe(SETTING_DEFAULTS.logRetentionDays);
      const others = allHandlerModules()
        .filter((m) => m !== handlerModule)
        .map(
          (m) => (functionResource(m).Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
        );
      expect(others).not.toContain(ref);
    });

    it('gets exactly the environment contract of lib/config.ts', () => {
      const decl = accessFor(handlerModule);
      const tableVars = Object.fromEntries(
        tableList.map((t) => [t.envVar, { Ref: logicalId(stack.tables.get(t.name as TableName)) }]),
      );
      expect((props.Environment as { Variables: unknown }).Variables).toEqual({
        ...tableVars,
        [eventStream.envVar]: { Ref: logicalId(stack.eventStream.stream) },
        [ENV.stage]: SETTING_DEFAULTS.stage,
        [ENV.consentMode]: SETTING_DEFAULTS.consentMode,
        [ENV.consentTtlDays]: String(SETTING_DEFAULTS.consentTtlDays),
        [ENV.piiMode]: SETTING_DEFAULTS.piiMode,
        [ENV.retentionDays]: String(SETTING_DEFAULTS.retentionDays),
        [ENV.eventHorizonDays]: String(SETTING_DEFAULTS.eventHorizonDays),
        [ENV.userPoolId]: { Ref: logicalId(stack.auth.userPool) },
        // console (issue 18): the CLI's app client and the console's.
        [ENV.userPoolClientId]: {
          'Fn::Join': [
            ',',
            [{ Ref: logicalId(stack.auth.client) }, { Ref: logicalId(stack.console.client) }],
          ],
        },
        [ENV.serviceName]: handlerModule,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
        [ENV.failureRetentionDays]: String(SETTING_DEFAULTS.failureRetentionDays),
        [ENV.identityVerification]: SETTING_DEFAULTS.identityVerification,
        [ENV.botMode]: SETTING_DEFAULTS.botMode,
        [ENV.botMaxEventsPerMinute]: String(SETTING_DEFAULTS.botMaxEventsPerMinute),
        [ENV.countryMode]: SETTING_DEFAULTS.countryMode,
        // eventbridge destinations: the stack's bus, the one PutEvents is granted on by default.
        [ENV.eventBusArns]: { 'Fn::GetAtt': [logicalId(stack.eventBuses.engagementBus), 'Arn'] },
        NODE_OPTIONS: '--enable-source-maps',
        // Where the secrets and the bucket its lib/access.ts declaration names are (privacy.test.ts).
        ...(decl.secrets?.includes('signing')
          ? { [ENV.signingSecretArn]: { Ref: logicalId(stack.secrets.get('signing')) } }
          : {}),
        ...Object.fromEntries(
          (Object.keys(decl.buckets ?? {}) as BucketName[]).map((name) => [
            buckets[name].envVar,
            { Ref: logicalId(stack.buckets.byName.get(name) as s3.IBucket) },
          ]),
        ),
        // Archive: a module that queries it learns the Glue table and the Athena workgroup.
        ...(decl.analytics
          ? {
              [ENV.archiveDatabase]: stack.archive.databaseName,
              [ENV.archiveTable]: archive.table,
              [ENV.athenaWorkgroup]: stack.archive.workgroupName,
            }
          : {}),
        ...(decl.secrets?.includes('crm')
          ? { [ENV.crmSecretArn]: { Ref: logicalId(stack.secrets.get('crm')) } }
          : {}),
      });
    });

    it('gets what lib/environment.ts builds for it, the builder the local stack uses too', () => {
      const built = functionEnvironment(handlerModule, stack.settings, stack.resourceNames);
      expect((props.Environment as { Variables: unknown }).Variables).toEqual({
        ...(stack.resolve(built) as Record<string, unknown>),
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('has its own role that only Lambda assumes, without managed policies', () => {
      const roleId = (props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = json.Resources[roleId];
      expect(role?.Type).toBe('AWS::IAM::Role');
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role?.Properties.Policies).toBeUndefined();
      expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
      const users = allHandlerModules()
        .filter((m) => m !== handlerModule)
        .map((m) => (functionResource(m).Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
      expect(users).not.toContain(roleId);
    });
  });
});
