/**
 * CORS for browser SDKs (`pulse:corsOrigins`): the one declaration the HTTP API's CORS
 * configuration, the `$default` function's preflight answers and the local gateway share. Plain
 * data and pure functions, no aws-cdk-lib.
 *
 * API Gateway answers preflights itself only where no route takes `OPTIONS`; the `$default` route
 * takes every method, so preflights reach the fallback function, which answers them from here.
 */
import { routes } from './routes';

/** What browser SDKs send: write key or JWT, JSON (maybe gzip), and the consent token. */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-encoding',
  'content-type',
  'x-api-key',
  'x-consent-token',
] as const;

/** Not CORS-safelisted, so a browser hides it unless exposed: SDKs back off by it on 429. */
export const CORS_EXPOSE_HEADERS = ['retry-after'] as const;

/** The methods the route table uses, no more. */
export const CORS_METHODS: readonly string[] = [...new Set(routes.map((r) => r.method))].sort();

/** How long a browser may reuse a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 3600;

/** `pulse:corsOrigins` as the environment carries it: comma-separated; `*` allows any origin. */
export const parseCorsOrigins = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

type Headers = Readonly<Record<string, string | undefined>>;

/** A browser's preflight: OPTIONS naming the method it wants to send, from an origin. */
export const isPreflight = (method: string, headers: Headers): boolean =>
  method === 'OPTIONS' && Boolean(headers.origin) && Boolean(headers['access-control-request-method']);

/** The Access-Control-Allow-Origin value for a request's origin; undefined when not allowed. */
const allowedOrigin = (origins: readonly string[], origin: string | undefined): string | undefined => {
  if (!origin) return undefined;
  if (origins.includes('*')) return '*';
  return origins.includes(origin) ? origin : undefined;
};

/** Headers answering a preflight: the configured CORS headers for an allowed origin, none otherwise. */
export const preflightHeaders = (origins: readonly string[], headers: Headers): Record<string, string> => {
  const origin = allowedOrigin(origins, headers.origin);
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': CORS_METHODS.join(','),
    'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
    'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    ...(origin === '*' ? {} : { vary: 'origin' }),
  };
};

/** Headers API Gateway adds to an actual (non-preflight) response for an allowed origin. */
export const responseCorsHeaders = (origins: readonly string[], headers: Headers): Record<string, string> => {
  const origin = allowedOrigin(origins, headers.origin);
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(','),
    ...(origin === '*' ? {} : { vary: 'origin' }),
  };
};
