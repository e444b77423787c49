import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, CORS_METHODS } from '../cors';
import { fallbackRoute, type RouteDef, routes } from '../routes';
import { functionId } from './functions';

export interface PulseApiProps {
  /** The function serving a handler module (one per module, shared by its routes). */
  readonly functionFor: (handlerModule: string) => lambda.IFunction;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly accessLogGroup: logs.ILogGroup;
  /** Browser origins allowed by CORS; none: no CORS configuration (API Gateway adds no headers). */
  readonly corsOrigins: readonly string[];
  /** The routes it serves (default: the whole route table; with the ALB door, the rest). */
  readonly routes?: readonly RouteDef[];
}

/**
 * Access log line: route keys, not paths (paths carry user ids) and no source IPs, so the access
 * log holds no personal data that erasure would have to reach. CloudWatch bills every byte of it
 * once per request (bench/cost): no request time (each log event carries its own timestamp), no
 * protocol and no response length (they tell nothing an operator acts on).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  // The throttle alarm's metric filter takes its ApiId dimension from here.
  apiId: '$context.apiId',
  requestId: '$context.requestId',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
});

/** The methods the route table uses, no more (lib/cors.ts), as the CDK names them. */
const CORS_HTTP_METHODS: apigwv2.CorsHttpMethod[] = CORS_METHODS.map(
  (m) => apigwv2.CorsHttpMethod[m as keyof typeof apigwv2.CorsHttpMethod],
);

const NO_AUTHORIZER_REASON =
  'Authentication runs in the functions, driven by the route table (write keys, Cognito JWTs verified ' +
  'in code, or none for health): API Gateway authorizers answer in their own body format instead of ' +
  'problem+json, cannot read a write key from the request body (Segment routes), and a cached ' +
  'authorizer rejects requests lacking one of its identity sources before our code runs.';

/**
 * The HTTP API: one route per route-table entry, each integrated with its handler module's
 * function (payload format 2.0), and `$default` to the fallback function so unknown paths and
 * methods get our problem+json 404/405.
 */
export class PulseApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly routesById: ReadonlyMap<string, apigwv2.HttpRoute>;

  constructor(scope: Construct, id: string, props: PulseApiProps) {
    super(scope, id);

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-api`,
      description: 'Pulse engagement tracking API',
      // Our own stage below carries throttling and access logs.
      createDefaultStage: false,
      ...(props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: CORS_HTTP_METHODS,
              allowHeaders: [...CORS_ALLOW_HEADERS],
              exposeHeaders: [...CORS_EXPOSE_HEADERS],
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
            },
          }
        : {}),
    });

    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(props.accessLogGroup),
        format: apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    // One integration per function: routes of the same handler module share it. One invoke
    // permission per function, scoped to this API (not one per route: 84 routes made 84
    // permissions, a sixth of CloudFormation's 500-resource budget for the stack).
    const integrations = new Map<string, HttpLambdaIntegration>();
    const integrationFor = (handlerModule: string): HttpLambdaIntegration => {
      let integration = integrations.get(handlerModule);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${functionId(handlerModule)}Integration`,
          props.functionFor(handlerModule),
          { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0, scopePermissionToRoute: false },
        );
        integrations.set(handlerModule, integration);
      }
      return integration;
    };

    const routesById = new Map<string, apigwv2.HttpRoute>();
    for (const route of props.routes ?? routes) {
      const httpRoute = new apigwv2.HttpRoute(
        this,
        `Route${route.id[0]?.toUpperCase()}${route.id.slice(1)}`,
        {
          httpApi: this.httpApi,
          routeKey: apigwv2.HttpRouteKey.with(route.path, apigwv2.HttpMethod[route.method]),
          integration: integrationFor(route.handler),
        },
      );
      this.acknowledgeNoAuthorizer(httpRoute);
      routesById.set(route.id, httpRoute);
    }
    const defaultRoute = new apigwv2.HttpRoute(this, 'RouteDefault', {
      httpApi: this.httpApi,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: integrationFor(fallbackRoute.handler),
    });
    this.acknowledgeNoAuthorizer(defaultRoute);
    routesById.set(fallbackRoute.id, defaultRoute);
    this.routesById = routesById;
  }

  get url(): string {
    return this.stage.url;
  }

  metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.httpApi.metricServerError({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  private acknowledgeNoAuthorizer(route: apigwv2.HttpRoute): void {
    Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: NO_AUTHORIZER_REASON });
  }
}
