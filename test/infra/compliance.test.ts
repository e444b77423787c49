/**
 * cdk-nag (AwsSolutions) and @aws/cloudformation-validate over the synthesized stack, plus the
 * CDK's own annotations. Findings are either fixed or acknowledged in code, next to the construct,
 * with a reason; validator warnings are either fixed or listed here with a justification.
 */
import { RegoEngine, type StandardDiagnostic, TemplateFile } from '@aws/cloudformation-validate';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { schedules } from '../../lib/schedules';
import { modelWorkflow } from '../../lib/workflows';
import { allHandlerModules, resourcesOfType, synth } from '../support/synth';

const synthesized = synth();
const { app, stack, json, logicalId } = synthesized;

interface Ack {
  readonly id: string;
  readonly reason: string;
  readonly path: string;
}

/** Every `Validations.of(x).acknowledge(...)` in the app. */
const acknowledgements = (): Ack[] => {
  const acks: Ack[] = [];
  for (const c of app.node.findAll() as IConstruct[]) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        acks.push({ id: id.replace(/^annotation::/i, ''), reason, path: c.node.path });
      }
    }
  }
  return acks;
};

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

const findings = (pack: AwsSolutionsChecks): Finding[] =>
  pack.validateScope(app).violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      severity: v.severity ?? '',
      path: r.constructPath ?? '',
    })),
  );

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding, error or warning', () => {
    expect(findings(new AwsSolutionsChecks())).toEqual([]);
  });

  it('acknowledges only what it must, each with a real reason', () => {
    const acks = acknowledgements();
    for (const ack of acks) {
      expect(ack.reason.trim().length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
    }
    // The pack again, blind to acknowledgements (cdk-nag 3 internals: isAcknowledged is private):
    // every acknowledgement must cover a finding that really fires, so none goes stale.
    const blind = new AwsSolutionsChecks();
    (blind as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const raw = findings(blind);
    for (const ack of acks) {
      const covered = raw.filter(
        (f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect(covered.length, `acknowledgement ${ack.id} at ${ack.path} covers no finding`).toBeGreaterThan(0);
    }
    // Reviewed list: a new kind of acknowledgement must be added here deliberately.
    expect([...new Set(acks.map((a) => a.id))].sort()).toEqual(
      [
        'AwsSolutions-APIG4', // routes without an authorizer: auth runs in the functions
        'AwsSolutions-COG2', // MFA optional by default (pulse:mfa)
        // Object actions on one bucket's keys (lib/access.ts): consumer PutObject on the failure
        // bucket; privacy Get/Put/DeleteObject on every personal bucket; writers and readers of each.
        ...[...stack.buckets.byName.values()].map(
          (b) => `AwsSolutions-IAM5[Resource::<${logicalId(b)}.Arn>/*]`,
        ),
        'AwsSolutions-SMG4', // signing secret not rotated (tokens carry a key id; dual-key window to come)
        // The archive's Firehose reads the (encrypted) stream: Firehose refuses SSE on such a source.
        'AwsSolutions-KDF1',
        // Destinations: credential secrets created at run time, one per destination, under the stage's prefix.
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:pulse/dev/destinations/*]',
        // predictions workflow: invoking its steps function's versions, and X-Ray (no resource-level permissions)
        `AwsSolutions-IAM5[Resource::<${logicalId(stack.functions.get(modelWorkflow.handler)?.fn as IConstruct)}.Arn>:*]`,
        'AwsSolutions-IAM5[Resource::*]',
        // console (issue 18): the distribution (no geo restriction, WAF, CloudFront logs; default
        // certificate), and the CDK's BucketDeployment function.
        'AwsSolutions-CFR1',
        'AwsSolutions-CFR2',
        'AwsSolutions-CFR3',
        'AwsSolutions-CFR4',
        'AwsSolutions-L1',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map(
          (a) => `AwsSolutions-IAM5[Action::${a}]`,
        ),
        `AwsSolutions-IAM5[Resource::<${logicalId(stack.console.bucket)}.Arn>/*]`,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      ].sort(),
    );
  });
});

describe('environment', () => {
  it('is environment-agnostic: no account or region lookups, no context to fetch', () => {
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    expect(synthesized.assembly.manifest.missing ?? []).toEqual([]);
    expect(json.Mappings).toBeUndefined();
  });
});

describe('CDK annotations', () => {
  it('has no warnings or errors', () => {
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });
});

/**
 * Validator warnings we keep, each with why. Anything else at WARN or above fails the test.
 */
const ACCEPTED_WARNINGS: readonly {
  rule: string;
  why: string;
  matches: (d: StandardDiagnostic) => boolean;
}[] = [
  {
    rule: 'W3005',
    why:
      "console (issue 18): the CDK's BucketDeployment singleton function depends on its role both by DependsOn " +
      'and by GetAtt; the same redundancy as for our own functions below, in code the CDK generates.',
    matches: (d) => (d.entity?.logicalId ?? '').startsWith('CustomCDKBucketDeployment'),
  },
  {
    rule: 'W3005',
    why:
      "aws-lambda's Function depends on its whole Role construct so that it (and its event source " +
      'mapping, which checks permissions on creation) waits for the role policy; the Role half of that ' +
      'DependsOn repeats the GetAtt on Properties.Role. Redundant, harmless, and not removable without ' +
      'dropping the policy dependency.',
    matches: (d) => {
      const fnIds = allHandlerModules().map((m) => {
        const fn = stack.functions.get(m);
        return fn ? [logicalId(fn.fn), logicalId(fn.role)] : [];
      });
      return fnIds.some(([fn, role]) => d.entity?.logicalId === fn && d.message.includes(`'${role}'`));
    },
  },
  {
    rule: 'W3005',
    why:
      "aws-stepfunctions' StateMachine depends on its role (and so on the role's policy, which lets it " +
      'invoke the steps function) besides the GetAtt on Properties.RoleArn: the same redundancy as above.',
    matches: (d) =>
      d.entity?.logicalId === logicalId(stack.models.stateMachine) &&
      d.message.includes(`'${logicalId(stack.models.stateMachine.role)}'`),
  },
];

describe('@aws/cloudformation-validate', () => {
  const engine = new RegoEngine();
  afterAll(() => engine.free());
  const report = engine.validateStandard(new TemplateFile(synthesized.templatePath));
  const atLeastWarn = report.diagnostics.filter((d) => ['WARN', 'ERROR', 'FATAL'].includes(d.severity));
  const describeDiagnostic = (d: StandardDiagnostic) =>
    `${d.severity} ${d.ruleId} ${d.entity?.logicalId ?? ''} ${d.propertyPath ?? ''}: ${d.message}`;

  it('analyses the whole template', () => {
    expect(report.status).toBe('OK');
    expect(Object.keys(json.Resources).length).toBeGreaterThan(50);
    // CloudFormation refuses a stack over 500 resources (the ALB mode: front-door.test.ts).
    expect(Object.keys(json.Resources).length).toBeLessThan(500);
    // Scheduled functions and their rules are in it (and so in cdk-nag's scope above), with the
    // failure index's rule and the predictions workflow's (docs/models.md).
    expect(resourcesOfType(json, 'AWS::Events::Rule')).toHaveLength(schedules.length + 2);
    for (const s of schedules) expect(stack.functions.has(s.handler), s.handler).toBe(true);
  });

  it('finds no errors', () => {
    expect(atLeastWarn.filter((d) => d.severity !== 'WARN').map(describeDiagnostic)).toEqual([]);
  });

  it('finds no warnings but the accepted ones', () => {
    const unexplained = atLeastWarn
      .filter((d) => d.severity === 'WARN')
      .filter((d) => !ACCEPTED_WARNINGS.some((w) => w.rule === d.ruleId && w.matches(d)));
    expect(unexplained.map(describeDiagnostic)).toEqual([]);
    for (const w of ACCEPTED_WARNINGS) expect(w.why.length).toBeGreaterThan(40);
  });
});
