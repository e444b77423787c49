/** API Gateway's `$default` route: unknown paths get 404, known paths with another method 405. */
import { resolveRoute } from '../../lib/routes';
import { Problem } from '../core/problem';
import { fallbackHandler } from '../http/handler';

export const handler = fallbackHandler(async ({ event }) => {
  const { method, path } = event.requestContext.http;
  const match = resolveRoute(method, path);
  if (!match.route && match.allowed.length > 0)
    throw new Problem(405, 'method_not_allowed', `${method} is not allowed on ${path}`, undefined, {
      headers: { allow: match.allowed.join(', ') },
      members: { allowed: match.allowed },
    });
  throw new Problem(404, 'not_found', `No route ${method} ${path}`);
});
