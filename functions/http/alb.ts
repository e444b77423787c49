/**
 * The Application Load Balancer front door (pulse:frontDoor=alb): ALB invokes a Lambda target with
 * its own event shape and expects its own result shape. Every handler speaks API Gateway's payload
 * format 2.0, so an ALB event is translated into one on the way in — the route chosen from the
 * route table exactly as API Gateway would (`resolveRoute`), path parameters included — and the
 * result translated back on the way out. Nothing downstream knows which door a request came by.
 *
 * ALB's documented differences handled here: query parameters arrive URL-encoded (it does not decode
 * them), a result needs `statusDescription`, and a header has one value unless multi-value headers
 * are enabled on the target group (they are not: Pulse's answers carry no repeated header).
 */
import { STATUS_CODES } from 'node:http';
import type { ALBEvent, ALBResult, APIGatewayProxyEventV2 } from 'aws-lambda';
import { resolveRoute, routeKey } from '../../lib/routes';
import type { HttpResult } from './types';

export const isAlbEvent = (event: unknown): event is ALBEvent =>
  typeof event === 'object' &&
  event !== null &&
  typeof (event as { requestContext?: { elb?: unknown } }).requestContext?.elb === 'object';

const decode = (value: string): string => {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    // A malformed escape stays as sent; the contract's validation answers it with a 400.
    return value;
  }
};

/** ALB's request, as API Gateway's HTTP API would have handed it to the function. */
export const albToHttpApiEvent = (event: ALBEvent, now: Date = new Date()): APIGatewayProxyEventV2 => {
  const method = event.httpMethod.toUpperCase();
  const rawPath = event.path || '/';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const rawPairs = Object.entries(event.queryStringParameters ?? {}).filter(
    (pair): pair is [string, string] => pair[1] !== undefined,
  );
  const rawQueryString = rawPairs.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&');
  const queryStringParameters = Object.fromEntries(rawPairs.map(([k, v]) => [decode(k), decode(v)]));
  const match = resolveRoute(method, rawPath);
  const key = match.route ? routeKey(match.route) : '$default';
  // ALB appends the client's address as the last entry of X-Forwarded-For.
  const sourceIp = (headers['x-forwarded-for'] ?? '').split(',').pop()?.trim() ?? '';
  const requestId = headers['x-amzn-trace-id']?.replace(/^Root=/, '').split(';')[0] || `alb-${now.getTime()}`;
  const domainName = headers.host ?? '';
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  return {
    version: '2.0',
    routeKey: key,
    rawPath,
    rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(rawPairs.length > 0 ? { queryStringParameters } : {}),
    requestContext: {
      accountId: '',
      apiId: 'alb',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: key,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(match.route && Object.keys(match.params).length > 0 ? { pathParameters: match.params } : {}),
    ...(event.body !== null && event.body !== undefined ? { body: event.body } : {}),
    isBase64Encoded: event.isBase64Encoded,
  };
};

/** A payload 2.0 result as ALB reads it back. */
export const httpApiResultToAlb = (result: HttpResult): ALBResult => {
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  // One Set-Cookie header is all a single-value ALB result can carry.
  if (result.cookies?.length) headers['set-cookie'] = result.cookies.join(', ');
  const statusCode = result.statusCode ?? 200;
  return {
    statusCode,
    statusDescription: `${statusCode} ${STATUS_CODES[statusCode] ?? ''}`.trim(),
    headers,
    body: result.body ?? '',
    isBase64Encoded: result.isBase64Encoded ?? false,
  };
};
