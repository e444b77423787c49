import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { fallbackRoute, routeKey, routes } from '../../lib/routes';
import { type CfnResourceJson, resourcesOfType, synth } from '../support/synth';

const { json, stack, template, logicalId } = synth();

const functionLogicalId = (handlerModule: string): string => {
  const fn = stack.functions.get(handlerModule);
  if (!fn) throw new Error(`no function for ${handlerModule}`);
  return logicalId(fn.fn);
};

/** The Lambda function logical id a route's integration invokes. */
const integratedFunction = (route: CfnResourceJson): string => {
  const target = route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
  const [prefix, ref] = target['Fn::Join'][1];
  expect(prefix).toBe('integrations/');
  const integration = json.Resources[ref.Ref];
  expect(integration?.Type).toBe('AWS::ApiGatewayV2::Integration');
  expect(integration?.Properties).toMatchObject({
    IntegrationType: 'AWS_PROXY',
    PayloadFormatVersion: '2.0',
  });
  const uri = integration?.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
  expect(uri['Fn::GetAtt'][1]).toBe('Arn');
  return uri['Fn::GetAtt'][0];
};

const routesByKey = new Map(
  resourcesOfType(json, 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey as string, r]),
);

describe('HTTP API', () => {
  it('has exactly the route table plus $default, no more', () => {
    expect([...routesByKey.keys()].sort()).toEqual([...routes.map(routeKey), '$default'].sort());
  });

  it.each(routes.map((r) => [routeKey(r), r.handler] as const))(
    '%s goes to the %s function',
    (key, handler) => {
      const route = routesByKey.get(key);
      expect(route).toBeDefined();
      expect(integratedFunction(route as CfnResourceJson)).toBe(functionLogicalId(handler));
    },
  );

  it('sends $default (unknown paths and methods) to the fallback function', () => {
    const route = routesByKey.get('$default');
    expect(route).toBeDefined();
    expect(integratedFunction(route as CfnResourceJson)).toBe(functionLogicalId(fallbackRoute.handler));
  });

  it('uses no API Gateway authorizer on any route (auth runs in the functions)', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    for (const [, route] of routesByKey) {
      expect(route.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
      expect(route.Properties.AuthorizerId).toBeUndefined();
    }
  });

  it('shares one integration per handler module', () => {
    const modules = new Set([...routes.map((r) => r.handler), fallbackRoute.handler]);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', modules.size);
  });

  it('throttles the $default stage and writes access logs to a retained log group', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: SETTING_DEFAULTS.throttleRateLimit,
        ThrottlingBurstLimit: SETTING_DEFAULTS.throttleBurstLimit,
      },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
        Format: Match.serializedJson(
          Match.objectLike({ requestId: '$context.requestId', routeKey: '$context.routeKey' }),
        ),
      },
    });
    const [, logGroup] =
      resourcesOfType(json, 'AWS::Logs::LogGroup').find(([id]) => id.startsWith('ApiAccessLogs')) ?? [];
    expect(logGroup?.Properties.RetentionInDays).toBe(SETTING_DEFAULTS.logRetentionDays);
  });

  it('lets API Gateway invoke each route function once, scoped to this API', () => {
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === 'apigateway.amazonaws.com');
    for (const handler of new Set([...routes.map((r) => r.handler), fallbackRoute.handler])) {
      const mine = permissions.filter(
        (p) => (p.FunctionName as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] === functionLogicalId(handler),
      );
      expect(mine).toHaveLength(1);
      for (const p of mine) {
        expect(JSON.stringify(p.SourceArn)).toContain(logicalId(stack.api.httpApi));
      }
    }
  });

  it('outputs the API URL', () => {
    template.hasOutput('ApiUrl', {});
  });
});
