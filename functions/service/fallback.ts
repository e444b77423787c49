/**
 * API Gateway's `$default` route: browser preflights get 204 (with the configured CORS headers
 * for an allowed origin, none for others), unknown paths 404, known paths with another method 405.
 *
 * `$default` takes every method, OPTIONS included, so API Gateway's own preflight answer never
 * applies here: without this a browser sees a 405 preflight and refuses the request it precedes.
 */
import { isPreflight, preflightHeaders } from '../../lib/cors';
import { resolveRoute } from '../../lib/routes';
import { settings } from '../adapters/settings';
import { Problem } from '../core/problem';
import { fallbackHandler } from '../http/handler';

export const handler = fallbackHandler(async ({ event }) => {
  const { method, path } = event.requestContext.http;
  const headers = event.headers ?? {};
  if (isPreflight(method, headers))
    return { status: 204, headers: preflightHeaders(settings.corsOrigins, headers) };
  const match = resolveRoute(method, path);
  if (!match.route && match.allowed.length > 0)
    throw new Problem(405, 'method_not_allowed', `${method} is not allowed on ${path}`, undefined, {
      headers: { allow: match.allowed.join(', ') },
      members: { allowed: match.allowed },
    });
  throw new Problem(404, 'not_found', `No route ${method} ${path}`);
});
