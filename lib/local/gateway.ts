/**
 * API Gateway HTTP API emulator: serves the route table as the deployed API does, invoking the
 * same handler modules with payload format 2.0 events and mapping their results back to HTTP.
 * What API Gateway answers itself (413 over 10 MB, 500 for a failed or malformed invocation, 503
 * on the integration timeout) is answered here in its own `{"message": ...}` bodies.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ALBEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { DEFAULTS } from '../config';
import { responseCorsHeaders } from '../cors';
import { ALB_LAMBDA_BODY_LIMIT_BYTES, ALB_NOT_FOUND, albRoutes, type FrontDoor } from '../front-door';
import { createRouteMatcher, fallbackRoute, type RouteDef, routeKey, routes as routeTable } from '../routes';
import {
  createHandlerResolver,
  type HandlerResolver,
  invokeHandler,
  LAMBDA_PAYLOAD_LIMIT_BYTES,
  LambdaTimeoutError,
  LOCAL_ACCOUNT_ID,
  localFunctionName,
} from './lambda';

/** API Gateway's payload limit for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's maximum integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

/** A route as the gateway needs it: a RouteDef, or a test's own with any method (`ANY` too). */
export interface GatewayRoute {
  readonly method: string;
  readonly path: string;
  readonly handler: string;
}

export interface GatewayOptions {
  /** Default: the route table of lib/routes.ts. `ANY` is accepted as a method. */
  routes?: readonly GatewayRoute[];
  /** Handler for `$default`; default: the fallback route's. */
  fallbackHandler?: string;
  /** Folder of handler modules (default `<repo>/functions`); ignored when resolveHandler is given. */
  functionsDir?: string;
  resolveHandler?: HandlerResolver;
  port?: number;
  host?: string;
  region?: string;
  apiId?: string;
  maxBodyBytes?: number;
  integrationTimeoutMs?: number;
  /** Where invocation errors are reported (default console). */
  logger?: Pick<Console, 'error' | 'warn'>;
  /**
   * The API's CORS origins (`pulse:corsOrigins`): as API Gateway does, responses to an allowed
   * origin carry the CORS headers. Preflights reach `$default`, whose function answers them.
   */
  corsOrigins?: readonly string[];
  /** Given, one line per request (route, status, duration; no ids from the path): `npm start --verbose`. */
  requestLog?: (line: string) => void;
  /**
   * `alb`: behave as the ALB front door (lib/front-door.ts) instead: only the write-key routes, ALB's
   * event and result shapes, its 1 MB body limit, and its fixed 404 for anything else.
   */
  frontDoor?: FrontDoor;
  /**
   * Served before the routes (the console at `/console`, lib/local/console.ts): answers and
   * resolves true, or resolves false to leave the request to the API.
   */
  pages?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface Gateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Routing

export interface RouteMatch {
  routeKey: string;
  handler: string;
  pathParameters?: Record<string, string>;
}

/** Picks the route API Gateway would pick for a method and raw path; `$default` when none. */
export const createRouter = (routes: readonly GatewayRoute[], fallbackHandler: string) => {
  const match = createRouteMatcher(routes);
  return (method: string, rawPath: string): RouteMatch => {
    const found = match(method, rawPath);
    if (!found.route) return { routeKey: '$default', handler: fallbackHandler };
    return {
      routeKey: routeKey(found.route as Pick<RouteDef, 'method' | 'path'>),
      handler: found.route.handler,
      ...(Object.keys(found.params).length ? { pathParameters: found.params } : {}),
    };
  };
};

// ---------------------------------------------------------------------------------------------
// Request → payload format 2.0

const TEXT_TYPES = [
  /^text\//,
  /^application\/(json|x-www-form-urlencoded|xml|javascript|x-javascript|ecmascript|graphql|x-ndjson)$/,
  /^application\/[^;]*\+(json|xml)$/,
];

/** A body goes to the function as a UTF-8 string only when it is text and not content-encoded. */
export const isTextBody = (contentType: string | undefined, contentEncoding: string | undefined): boolean => {
  if (contentEncoding && contentEncoding.trim().toLowerCase() !== 'identity') return false;
  if (!contentType) return false;
  const mime = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return TEXT_TYPES.some((re) => re.test(mime));
};

const headersOf = (req: IncomingMessage) => {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { headers, cookies };
};

const queryParameters = (rawQueryString: string): Record<string, string> | undefined => {
  if (!rawQueryString) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) out[k] = k in out ? `${out[k]},${v}` : v;
  return Object.keys(out).length ? out : undefined;
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
/** requestContext.time as API Gateway writes it: `12/Mar/2020:19:03:58 +0000`. */
const clfTime = (d: Date) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

/** API Gateway's request ids look like `JKJaXmPLvHcESHA=`. */
const isUtf8 = (bytes: Buffer): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};

const requestId = () => randomBytes(10).toString('base64');

const traceId = () =>
  `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

const sourceIpOf = (req: IncomingMessage) =>
  (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

/** The X-Forwarded-* and trace headers the front door adds on its way to the function; the client's address. */
const addForwardingHeaders = (req: IncomingMessage, headers: Record<string, string>): string => {
  const sourceIp = sourceIpOf(req);
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= traceId();
  return sourceIp;
};

export interface EventInput {
  req: IncomingMessage;
  body: Buffer | undefined;
  match: RouteMatch;
  requestId: string;
  apiId: string;
  now: Date;
}

export const buildEvent = ({
  req,
  body,
  match,
  requestId: id,
  apiId,
  now,
}: EventInput): APIGatewayProxyEventV2 => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQueryString = q === -1 ? '' : url.slice(q + 1);
  const { headers, cookies } = headersOf(req);
  // Headers API Gateway adds on its way to the integration.
  const sourceIp = addForwardingHeaders(req, headers);
  const domainName = headers.host ?? 'localhost';
  // A "text" body that is not valid UTF-8 goes base64 too, so no byte is lost on the way.
  const text =
    body !== undefined && isTextBody(headers['content-type'], headers['content-encoding']) && isUtf8(body);
  const queryStringParameters = queryParameters(rawQueryString);
  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId,
      domainName,
      domainPrefix: domainName.split('.')[0]?.split(':')[0] ?? domainName,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: id,
      routeKey: match.routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(match.pathParameters ? { pathParameters: match.pathParameters } : {}),
    ...(body !== undefined ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body !== undefined && !text,
  };
};

/** The event an ALB sends a Lambda target (single-value headers and query, query left URL-encoded). */
export const buildAlbEvent = ({ req, body }: Pick<EventInput, 'req' | 'body'>): ALBEvent => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  // Single-value mode: the last value of a repeated header wins.
  for (let i = 0; i < raw.length; i += 2) headers[(raw[i] as string).toLowerCase()] = raw[i + 1] as string;
  // ALB adds the same ones.
  addForwardingHeaders(req, headers);
  const queryStringParameters: Record<string, string> = {};
  if (q !== -1) {
    for (const pair of url.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      queryStringParameters[eq === -1 ? pair : pair.slice(0, eq)] = eq === -1 ? '' : pair.slice(eq + 1);
    }
  }
  const text =
    body !== undefined && isTextBody(headers['content-type'], headers['content-encoding']) && isUtf8(body);
  return {
    requestContext: {
      elb: {
        targetGroupArn: `arn:aws:elasticloadbalancing:local:${LOCAL_ACCOUNT_ID}:targetgroup/pulse/local`,
      },
    },
    httpMethod: req.method ?? 'GET',
    path,
    queryStringParameters,
    headers,
    body: body === undefined ? '' : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body !== undefined && !text,
  };
};

// ---------------------------------------------------------------------------------------------
// Result → HTTP

class MalformedResponse extends Error {}

interface HttpReply {
  statusCode: number;
  headers: [string, string | string[]][];
  body: Buffer;
}

const scalar = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new MalformedResponse(`header value ${JSON.stringify(v)} is not a string, number or boolean`);
};

/** API Gateway's reading of a payload 2.0 response, structured or inferred. */
export const toHttpReply = (result: unknown): HttpReply => {
  const isStructured =
    typeof result === 'object' && result !== null && !Array.isArray(result) && 'statusCode' in result;
  if (!isStructured) {
    // Inferred: the result is the body of a 200 application/json response.
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    return { statusCode: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body) };
  }
  const r = result as Record<string, unknown>;
  const statusCode = r.statusCode;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new MalformedResponse(`statusCode ${JSON.stringify(statusCode)} is not an HTTP status`);
  }
  const headers: [string, string | string[]][] = [];
  if (r.headers != null) {
    if (typeof r.headers !== 'object') throw new MalformedResponse('headers is not an object');
    for (const [k, v] of Object.entries(r.headers)) headers.push([k, scalar(v)]);
  }
  if (r.multiValueHeaders != null) {
    if (typeof r.multiValueHeaders !== 'object')
      throw new MalformedResponse('multiValueHeaders is not an object');
    for (const [k, v] of Object.entries(r.multiValueHeaders)) {
      if (!Array.isArray(v)) throw new MalformedResponse(`multiValueHeaders.${k} is not an array`);
      headers.push([k, v.map(scalar)]);
    }
  }
  if (r.cookies != null) {
    if (!Array.isArray(r.cookies)) throw new MalformedResponse('cookies is not an array');
    headers.push(['set-cookie', r.cookies.map(scalar)]);
  }
  let body = Buffer.alloc(0);
  if (r.body != null) {
    if (typeof r.body !== 'string') throw new MalformedResponse('body is not a string');
    body = r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
  }
  return { statusCode, headers, body };
};

/** API Gateway's CORS headers replace the integration's own (a browser refuses two origins). */
const withCors = (reply: HttpReply, cors: Record<string, string>): HttpReply => {
  const names = new Set(Object.keys(cors));
  if (names.size === 0) return reply;
  const kept = reply.headers.filter(([name]) => !names.has(name.toLowerCase()));
  return { ...reply, headers: [...kept, ...Object.entries(cors)] };
};

const sendMessage = (res: ServerResponse, statusCode: number, message: string, id?: string) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(id ? { 'apigw-requestid': id } : {}),
  });
  res.end(body);
};

const writeReply = (res: ServerResponse, reply: HttpReply, id: string) => {
  // Multiple values of one header (headers + multiValueHeaders + cookies) are all kept.
  const merged = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    const entry = merged.get(key) ?? { name, values: [] };
    entry.values.push(...(Array.isArray(value) ? value : [value]));
    merged.set(key, entry);
  }
  merged.delete('content-length');
  merged.delete('transfer-encoding');
  // Validate every header before writing anything, so a bad one still yields a clean 500.
  for (const { name, values } of merged.values()) {
    res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  }
  res.setHeader('apigw-requestid', id);
  res.setHeader('content-length', reply.body.length);
  res.writeHead(reply.statusCode);
  res.end(reply.body);
};

// ---------------------------------------------------------------------------------------------
// Server

class BodyTooLarge extends Error {}

/** Reads the body, refusing (without buffering further) anything past the limit. */
const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });

/**
 * Answers 413, then reads and throws away the rest of the upload (a lingering close): a socket
 * destroyed with upload bytes still unread sends a reset, which can wipe the 413 from the
 * client's buffer before it reads it. An upload that goes on for long is cut off.
 */
const refuseTooLarge = (req: IncomingMessage, res: ServerResponse, id: string) => {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  // Where Node would close the connection after the answer, only half-close it.
  socket.destroySoon = () => socket.end();
  sendMessage(res, 413, 'Request Entity Too Large', id);
  req.resume();
  const cutoff = setTimeout(() => socket.destroy(), 5_000);
  cutoff.unref();
  socket.once('close', () => clearTimeout(cutoff));
};

export const startGateway = async (options: GatewayOptions = {}): Promise<Gateway> => {
  const logger = options.logger ?? console;
  const resolveHandler = options.resolveHandler ?? createHandlerResolver(options.functionsDir);
  const alb = options.frontDoor === 'alb';
  const router = createRouter(
    options.routes ?? (alb ? albRoutes : routeTable),
    options.fallbackHandler ?? fallbackRoute.handler,
  );
  const region = options.region ?? process.env.AWS_REGION ?? DEFAULTS.region;
  const apiId = options.apiId ?? 'pulselocal';
  const maxBody = options.maxBodyBytes ?? (alb ? ALB_LAMBDA_BODY_LIMIT_BYTES : MAX_BODY_BYTES);
  const timeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const inFlight = new Set<Promise<void>>();
  const corsOrigins = options.corsOrigins ?? [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const id = requestId();
    const now = new Date();
    if (options.requestLog) {
      const log = options.requestLog;
      res.once('finish', () => {
        const route = router(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/').routeKey;
        log(`[local gateway] ${route} ${res.statusCode} ${Date.now() - now.getTime()} ms`);
      });
    }
    if (options.pages && (await options.pages(req, res))) return;
    let body: Buffer | undefined;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) refuseTooLarge(req, res, id);
      else res.destroy();
      return;
    }
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const match = router(req.method ?? 'GET', rawPath);
    const functionName = localFunctionName(match.handler);
    if (alb && match.routeKey === '$default' && req.method !== 'OPTIONS') {
      // The listener's default action: no function is invoked (preflights go to `$default`'s function).
      writeReply(
        res,
        {
          statusCode: ALB_NOT_FOUND.statusCode,
          headers: [['content-type', ALB_NOT_FOUND.contentType]],
          body: Buffer.from(ALB_NOT_FOUND.body),
        },
        id,
      );
      return;
    }
    const event = alb
      ? buildAlbEvent({ req, body })
      : buildEvent({ req, body, match, requestId: id, apiId, now });
    if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_PAYLOAD_LIMIT_BYTES) {
      // Under API Gateway's 10 MB but over Lambda's 6 MB invocation payload: Lambda refuses it.
      logger.warn(`[local gateway] ${match.routeKey}: event over Lambda's 6 MB payload limit, not invoked`);
      sendMessage(res, 413, 'Request Entity Too Large', id);
      return;
    }
    let reply: HttpReply;
    try {
      const handler = await resolveHandler(match.handler);
      const { result } = await invokeHandler(handler, event, {
        handlerModule: match.handler,
        functionName,
        region,
        timeoutMs,
      });
      // Behind the ALB the functions add CORS headers themselves (functions/http/handler.ts).
      reply = withCors(toHttpReply(result), alb ? {} : responseCorsHeaders(corsOrigins, event.headers ?? {}));
      if (reply.body.length > LAMBDA_PAYLOAD_LIMIT_BYTES) {
        throw new MalformedResponse("response over Lambda's 6 MB payload limit");
      }
    } catch (err) {
      if (err instanceof LambdaTimeoutError) {
        logger.error(`[local gateway] ${match.routeKey} -> ${functionName}: integration timed out`);
        sendMessage(res, 503, 'Service Unavailable', id);
        return;
      }
      const what =
        err instanceof MalformedResponse ? `malformed Lambda response: ${err.message}` : 'invocation failed';
      logger.error(
        `[local gateway] ${match.routeKey} -> ${functionName}: ${what}`,
        ...(err instanceof MalformedResponse ? [] : [err]),
      );
      sendMessage(res, 500, 'Internal Server Error', id);
      return;
    }
    try {
      writeReply(res, reply, id);
    } catch (err) {
      logger.error(`[local gateway] ${match.routeKey} -> ${functionName}: malformed Lambda response`, err);
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      sendMessage(res, 500, 'Internal Server Error', id);
    }
  };

  const server = createServer((req, res) => {
    const done = handle(req, res)
      .catch((err) => {
        logger.error('[local gateway] unexpected error', err);
        if (!res.headersSent) sendMessage(res, 500, 'Internal Server Error');
        else res.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  server.on('checkContinue', (req, res) => {
    // `Expect: 100-continue` with a declared body over the limit: refuse before the upload starts.
    if (Number(req.headers['content-length']) > maxBody) {
      refuseTooLarge(req, res, requestId());
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP: answer 400 when the socket still takes it; never let it reach the process.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // A wildcard bind is reached through loopback; an IPv6 literal needs brackets in a URL.
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    server,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests already being handled get a moment to finish; then every socket goes.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => {
          timer = setTimeout(r, 5_000);
        }),
      ]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    },
  };
};
