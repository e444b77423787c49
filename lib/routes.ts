/**
 * The route table: the one declaration of every HTTP route. The CDK stack, the local gateway
 * and the OpenAPI document are all built from it. Plain data: imports nothing from aws-cdk-lib,
 * so handlers and the local runtime can read it without pulling CDK into a bundle.
 */

/** Who may call a route. `analyst` routes admit admins too. */
export type AuthKind = 'none' | 'writeKey' | 'analyst' | 'admin';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RouteDef {
  /** Stable identifier, used in logs, metrics and the OpenAPI operationId. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `/api/engagement/{type}`. */
  readonly path: string;
  /** Handler module, relative to `functions/`, without extension; it exports `handler`. */
  readonly handler: string;
  readonly auth: AuthKind;
  readonly summary: string;
  /** Segment-compatible route: body read as JSON whatever its Content-Type, Segment's limits. */
  readonly segment?: boolean;
}

export const routes = [
  {
    id: 'health',
    method: 'GET',
    path: '/api/health',
    handler: 'service/health',
    auth: 'none',
    summary: 'Liveness: the stream and the tables answer',
  },
  {
    id: 'trackBatch',
    method: 'POST',
    path: '/api/engagement/events',
    handler: 'ingest/engagement',
    auth: 'writeKey',
    summary: 'Send a batch of 1..500 engagement events',
  },
  {
    id: 'trackOne',
    method: 'POST',
    path: '/api/engagement/{type}',
    handler: 'ingest/engagement',
    auth: 'writeKey',
    summary: 'Send one engagement event of the given type',
  },
  {
    id: 'createSource',
    method: 'POST',
    path: '/api/sources',
    handler: 'sources/sources',
    auth: 'admin',
    summary: 'Create a source and its write key (shown once)',
  },
  {
    id: 'listSources',
    method: 'GET',
    path: '/api/sources',
    handler: 'sources/sources',
    auth: 'admin',
    summary: 'List sources (never their keys)',
  },
  {
    id: 'deleteSource',
    method: 'DELETE',
    path: '/api/sources/{sourceId}',
    handler: 'sources/sources',
    auth: 'admin',
    summary: 'Revoke a source and its write key',
  },
] as const satisfies readonly RouteDef[];

export type RouteId = (typeof routes)[number]['id'];

/** The catch-all: answers unknown paths (404) and wrong methods (405) with problem+json. */
export const fallbackRoute = {
  id: 'fallback',
  handler: 'service/fallback',
  auth: 'none',
} as const;

/** API Gateway's route key for a route, e.g. `POST /api/engagement/{type}`. */
export const routeKey = (route: Pick<RouteDef, 'method' | 'path'>): string => `${route.method} ${route.path}`;

const byKey: ReadonlyMap<string, RouteDef> = new Map(routes.map((r) => [routeKey(r), r]));

/** The route a request's routeKey names; undefined for `$default` (the fallback). */
export const routeForKey = (key: string): RouteDef | undefined => byKey.get(key);

/** Every handler module with the routes it serves: one Lambda function each. */
export const handlerModules = (): Map<string, RouteDef[]> => {
  const out = new Map<string, RouteDef[]>();
  for (const r of routes) out.set(r.handler, [...(out.get(r.handler) ?? []), r]);
  return out;
};
