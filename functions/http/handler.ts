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
import { ENV } from '../../lib/config';
import { parseCorsOrigins, responseCorsHeaders } from '../../lib/cors';
import { fallbackRoute, type HandlerModule, handlerModules, routeForKey } from '../../lib/routes';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { type FieldError, Problem } from '../core/problem';
import { parseBody, parseQuery } from '../core/query';
import { parseWith } from '../core/zod';
import { albToHttpApiEvent, httpApiResultToAlb, isAlbEvent } from './alb';
import { type Authenticators, authenticate, requiredAuthenticator, segmentWriteKey } from './auth';
import { type BodyOptions, decodeBody } from './body';
import type { Contract, Handlers, OperationContract } from './operations';
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

/**
 * Lets the same function serve behind an Application Load Balancer (pulse:frontDoor=alb): its event
 * is read as API Gateway's, and the answer — a problem+json one too — written back as ALB's.
 */
const albFrontDoor = (): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => {
  const fromAlb = new WeakSet<object>();
  const convert = (request: { response: unknown; context: object; event: APIGatewayProxyEventV2 }) => {
    if (!fromAlb.has(request.context) || request.response === undefined) return;
    const result = request.response as HttpResult;
    // API Gateway adds CORS headers for the HTTP API; behind the ALB the function does.
    const cors = responseCorsHeaders(
      parseCorsOrigins(process.env[ENV.corsOrigins]),
      request.event.headers ?? {},
    );
    request.response = httpApiResultToAlb({
      ...result,
      headers: { ...result.headers, ...cors },
    }) as HttpResult;
  };
  return {
    before: async (request) => {
      const event: unknown = request.event;
      if (!isAlbEvent(event)) return;
      fromAlb.add(request.context);
      request.event = albToHttpApiEvent(event);
    },
    after: async (request) => convert(request),
    onError: async (request) => convert(request),
  };
};

export interface HttpHandlerOptions<M extends HandlerModule, C extends Contract<M>> {
  /** This function's handler module (route-table `handler`). */
  module: M;
  /** What each of its routes takes and answers (`<module>.contract.ts`). */
  contract: C;
  /** One handle per operation of the contract. */
  handlers: Handlers<C>;
  authenticators: Authenticators;
  body?: BodyOptions;
}

const DEFAULT_BODY: BodyOptions = { maxBytes: 1024 * 1024 };
const FALLBACK = { id: fallbackRoute.id, method: 'GET', path: '$default', auth: fallbackRoute.auth } as const;

/** The operation's input, validated by its contract: a Problem naming every offending field. */
const validInput = (
  operation: OperationContract,
  pathParameters: Record<string, string | undefined>,
  queryParameters: Record<string, string | undefined> | undefined,
  body: unknown,
) => {
  const params: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  let notFound = false;
  for (const [name, schema] of Object.entries(operation.params ?? {})) {
    const parsed = parseWith(schema, pathParameters[name] ?? '', [name]);
    if (parsed.ok) params[name] = parsed.value;
    else {
      errors.push(...parsed.errors);
      notFound ||= operation.notFoundParams?.includes(name) ?? false;
    }
  }
  if (notFound) throw new Problem(404, 'not_found', 'No such resource', errors);
  if (errors.length > 0) throw new Problem(400, 'validation_failed', 'Invalid path parameters', errors);
  const query = operation.query ? parseQuery(operation.query, queryParameters) : (queryParameters ?? {});
  const validatedBody =
    operation.body && operation.bodyValidation !== 'handler' ? parseBody(operation.body, body) : body;
  return { params, query, body: validatedBody };
};

/** Common to every HTTP function: routing, logging, auth, body decoding, problem+json errors. */
const wrap = (options: {
  module: string;
  authenticators: Authenticators;
  body?: BodyOptions;
  fallback?: boolean;
  handle: (request: HttpRequest) => Promise<HttpResponse>;
}) => {
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
    if (response.text !== undefined)
      return {
        statusCode: response.status,
        headers: { ...SECURITY_HEADERS, ...response.headers },
        body: response.text,
      };
    return jsonResponse(response.status, response.body, response.headers);
  };

  return middy<APIGatewayProxyEventV2, HttpResult>()
    .use(albFrontDoor())
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

/**
 * The handler of a module that serves routes: each request's route picks its operation, whose
 * contract validates the path parameters, query and body before its handle runs.
 */
export const httpHandler = <M extends HandlerModule, C extends Contract<M>>(
  options: HttpHandlerOptions<M, C>,
) => {
  const operations = options.contract as unknown as Record<string, OperationContract>;
  const handlers = options.handlers as unknown as Record<
    string,
    (request: HttpRequest, input: unknown) => Promise<HttpResponse>
  >;
  return wrap({
    module: options.module,
    authenticators: options.authenticators,
    ...(options.body && { body: options.body }),
    handle: async (request) => {
      const operation = operations[request.route.id];
      const handle = handlers[request.route.id];
      // The route table routed here a route this module has no operation for: a deployment bug.
      if (!operation || !handle) throw new Error(`${options.module} has no operation ${request.route.id}`);
      const input = validInput(
        operation,
        request.event.pathParameters ?? {},
        request.event.queryStringParameters,
        request.body,
      );
      return handle(request, input);
    },
  });
};

/** API Gateway's `$default` route: no route of its own, no auth, the body ignored. */
export const fallbackHandler = (handle: (request: HttpRequest) => Promise<HttpResponse>) =>
  wrap({ module: fallbackRoute.handler, authenticators: {}, fallback: true, handle });
