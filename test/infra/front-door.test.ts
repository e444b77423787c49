/** The ALB front door as synthesized (pulse:frontDoor=alb): routes, TLS, targets, and cdk-nag. */
import { RegoEngine, TemplateFile } from '@aws/cloudformation-validate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ALB_NOT_FOUND, albPathPattern, albRoutes } from '../../lib/front-door';
import { fallbackRoute } from '../../lib/routes';
import { resourcesOfType, synth } from '../support/synth';

const CERT = 'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000';
const synthesized = synth({
  context: { 'pulse:frontDoor': 'alb', 'pulse:ingestCertificateArn': CERT },
});
const { app, json, stack, logicalId } = synthesized;

const fnId = (handlerModule: string) => logicalId(stack.functions.get(handlerModule)?.fn as never);

describe('pulse:frontDoor=alb', () => {
  it('is off by default, and refused without a certificate', () => {
    expect(synth().stack.ingestAlb).toBeUndefined();
    expect(() => synth({ context: { 'pulse:frontDoor': 'alb' } })).toThrow(/ingestCertificateArn/);
    expect(() => synth({ context: { 'pulse:frontDoor': 'nlb' } })).toThrow(/frontDoor/);
  });

  it("stays within CloudFormation's 500 resources per stack", () => {
    expect(Object.keys(json.Resources).length).toBeLessThan(500);
  });

  it('is an internet-facing load balancer with an HTTPS listener on the certificate, plain HTTP redirected', () => {
    const [[, lb]] = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::LoadBalancer') as [[string, never]];
    expect((lb as { Properties: Record<string, unknown> }).Properties.Scheme).toBe('internet-facing');
    const listeners = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').map(
      ([, l]) => l.Properties,
    );
    const https = listeners.find((l) => l.Protocol === 'HTTPS');
    expect(https?.Port).toBe(443);
    expect(https?.Certificates).toEqual([{ CertificateArn: CERT }]);
    expect(https?.DefaultActions).toEqual([
      {
        Type: 'fixed-response',
        FixedResponseConfig: {
          StatusCode: String(ALB_NOT_FOUND.statusCode),
          ContentType: ALB_NOT_FOUND.contentType,
          MessageBody: ALB_NOT_FOUND.body,
        },
      },
    ]);
    const http = listeners.find((l) => l.Protocol === 'HTTP');
    expect(JSON.stringify(http?.DefaultActions)).toContain('"Type":"redirect"');
  });

  it('forwards exactly the write-key routes, each by method and path, to its module’s function', () => {
    const groups = new Map(
      resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::TargetGroup').map(([id, g]) => [
        id,
        (g.Properties.Targets as { Id: { 'Fn::GetAtt': [string, string] } }[])[0]?.Id['Fn::GetAtt'][0],
      ]),
    );
    const rules = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(
      ([, r]) => r.Properties,
    );
    const forwarded = rules.flatMap((r) => {
      const conditions = r.Conditions as {
        Field: string;
        HttpRequestMethodConfig?: { Values: string[] };
        PathPatternConfig?: { Values: string[] };
      }[];
      const target = (r.Actions as { TargetGroupArn: { Ref: string } }[])[0]?.TargetGroupArn.Ref as string;
      const method = conditions
        .find((c) => c.Field === 'http-request-method')
        ?.HttpRequestMethodConfig?.Values.join();
      const paths = conditions.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? ['*'];
      // A rule holds at most five paths.
      expect(paths.length).toBeLessThanOrEqual(5);
      return paths.map((path) => ({ method, path, fn: groups.get(target) }));
    });
    expect(forwarded).toEqual(
      expect.arrayContaining([
        { method: 'OPTIONS', path: '*', fn: fnId(fallbackRoute.handler) },
        ...albRoutes.map((r) => ({ method: r.method, path: albPathPattern(r.path), fn: fnId(r.handler) })),
      ]),
    );
    expect(forwarded).toHaveLength(albRoutes.length + 1);
    // Literal paths are matched before patterns that would also take them.
    const priority = (path: string) =>
      rules.find((r) => JSON.stringify(r.Conditions).includes(`"${path}"`))?.Priority as number;
    expect(priority('/api/engagement/events')).toBeLessThan(priority('/api/engagement/*'));
  });

  it('lets the load balancer invoke each target function, and only those', () => {
    const invokers = resourcesOfType(json, 'AWS::Lambda::Permission')
      .filter(([, p]) => p.Properties.Principal === 'elasticloadbalancing.amazonaws.com')
      .map(([, p]) => (p.Properties.FunctionName as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]);
    expect(new Set(invokers)).toEqual(
      new Set([...new Set([...albRoutes.map((r) => r.handler), fallbackRoute.handler])].map(fnId)),
    );
  });

  it('takes the write-key routes off the HTTP API: one door per route', () => {
    const keys = resourcesOfType(json, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    for (const r of albRoutes) expect(keys).not.toContain(`${r.method} ${r.path}`);
    expect(keys).toContain('GET /api/metrics/campaigns');
  });

  it('outputs the ingestion URL next to the API URL', () => {
    expect(json.Outputs?.IngestUrl).toBeDefined();
    expect(json.Outputs?.ApiUrl).toBeDefined();
  });

  it('passes the CloudFormation validator: no errors, and no warnings beyond the main template’s accepted one', () => {
    const engine = new RegoEngine();
    try {
      const report = engine.validateStandard(new TemplateFile(synthesized.templatePath));
      expect(report.status).toBe('OK');
      const found = report.diagnostics
        .filter((d) => ['WARN', 'ERROR', 'FATAL'].includes(d.severity))
        // W3005: the CDK's redundant DependsOn on a function's role (test/infra/compliance.test.ts).
        .filter((d) => d.ruleId !== 'W3005')
        .map((d) => `${d.severity} ${d.ruleId} ${d.entity?.logicalId ?? ''}: ${d.message}`);
      expect(found).toEqual([]);
    } finally {
      engine.free();
    }
  }, 240_000);

  it('passes cdk-nag AwsSolutions, its acknowledgements each with a reason', () => {
    const violations = new AwsSolutionsChecks()
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(violations).toEqual([]);
  });
});
