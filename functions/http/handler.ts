/**
 * The HTTP handler wrapper every route's function uses: middy with Powertools' logger and
 * metrics middlewares, then the shared middlewares — problem+json errors, route and auth from
 * the route table, body decoding — and finally the handler's own `handle`, which sees a
 * ready HttpRequest and returns status and body.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { fallbackRoute, handlerModules, routeForKey } from '../../lib/routes';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { Problem } from '../core/problem';
import { type Authenticators, authenticate, requiredAuthenticator, segmentWriteKey } from './auth';
import { type BodyOptions, decodeBody } from './body';
import type { HttpRequest, HttpResponse, HttpResult } from './types';

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * On every answer: the API serves JSON to programs, never pages, so a browser is told not to
 * sniff it into HTML, not to run or frame anything it might render, and not to leak the URL
 * (link and consent tokens ride in it) to wherever it goes next. No Strict-Transport-Security:
 * API Gateway serves HTTPS only (HSTS there is the custom domain's business), and locally it
 * would pin plain-HTTP localhost in browsers.
 */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
} as const;

export const jsonResponse = (
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode: status,
  headers: { ...SECURITY_HEADERS, ...(body === undefined ? {} : JSON_HEADERS), ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

export const problemResponse = (problem: Problem): HttpResult => ({
  statusCode: problem.status,
  headers: { ...SECURITY_HEADERS, 'content-type': 'application/problem+json', ...problem.extra.headers },
  body: JSON.stringify(problem.toBody()),
});

/** Turns any error into problem+json: a Problem as itself, anything else as a logged 500. */
export const problemErrors = (): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  onError: async (request) => {
    const error = request.error;
    if (error instanceof Problem) {
      if (error.status >= 500) logger.warn('request failed', { code: error.code, detail: error.detail });
      request.response = problemResponse(error);
      return;
    }
    logger.error('unhandled error', error as Error);
    request.response = problemResponse(new Problem(500, 'internal_error', 'An internal error occurred'));
  },
});

export interface HttpHandlerOptions {
  /** This function's handler module (route-table `handler`), checked against the authenticators. */
  module: string;
  authenticators: Authenticators;
  body?: BodyOptions;
  /** The `$default` catch-all: no route of its own, no auth, body ignored. */
  fallback?: boolean;
  handle: (request: HttpRequest) => Promise<HttpResponse>;
}

const DEFAULT_BODY: BodyOptions = { maxBytes: 1024 * 1024 };
const FALLBACK = { id: fallbackRoute.id, method: 'GET', path: '$default', auth: fallbackRoute.auth } as const;

export const httpHandler = (options: HttpHandlerOptions) => {
  // Fail at init, not at the first request, if a route of this module cannot be authenticated.
  for (const route of handlerModules().get(options.module) ?? []) {
    const needed = requiredAuthenticator(route.auth);
    if (needed && !options.authenticators[needed])
      throw new Error(`${options.module}: route ${route.id} needs a ${needed} authenticator`);
  }

  const core = async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResult> => {
    const receivedAt = new Date();
    const route = options.fallback ? FALLBACK : routeForKey(event.routeKey);
    if (!route)
      throw new Problem(404, 'not_found', `No route ${event.requestContext.http.method} ${event.rawPath}`);
    logger.appendKeys({ route: route.id });
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    const headers = event.headers ?? {};
    const decode = () => decodeBody(event.body, event.isBase64Encoded, headers, options.body ?? DEFAULT_BODY);
    // Segment routes may carry the write key in the body (analytics.js, the mobile SDKs) or in
    // the path (settings): there the body is read before authentication, to find it.
    const segment = 'segment' in route && route.segment === true;
    const early = segment ? decode() : undefined;
    const principal = await authenticate(
      route.auth,
      headers,
      options.authenticators,
      segment ? segmentWriteKey(event.pathParameters, early?.value) : undefined,
    );
    const { value: body, bytes: bodyBytes } =
      early ?? (options.fallback ? { value: undefined, bytes: 0 } : decode());
    const response = await options.handle({
      event,
      context,
      route,
      principal,
      body,
      bodyBytes,
      receivedAt,
      requestId: event.requestContext.requestId,
    });
    return jsonResponse(response.status, response.body, response.headers);
  };

  return middy<APIGatewayProxyEventV2, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use({
      before: async (request) => {
        logger.setCorrelationId(request.event.requestContext?.requestId);
      },
    })
    .use(problemErrors())
    .handler(core);
};
