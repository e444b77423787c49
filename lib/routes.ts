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
  {
    id: 'listCampaignMetrics',
    method: 'GET',
    path: '/api/metrics/campaigns',
    handler: 'metrics/metrics',
    auth: 'analyst',
    summary: 'Campaigns with their totals by event type (paginated)',
  },
  {
    id: 'campaignMetrics',
    method: 'GET',
    path: '/api/metrics/campaigns/{campaignId}',
    handler: 'metrics/metrics',
    auth: 'analyst',
    summary: 'A campaign: totals, unique users, device and channel splits, hour or day series',
  },
  {
    id: 'putConsent',
    method: 'PUT',
    path: '/api/users/{userId}/consent',
    handler: 'consent/consent',
    auth: 'writeKey',
    summary: "Record a person's consent by purpose; returns a signed consent token",
  },
  {
    id: 'getConsent',
    method: 'GET',
    path: '/api/users/{userId}/consent',
    handler: 'consent/consent',
    auth: 'analyst',
    summary: 'Current consent and its full history',
  },
  {
    id: 'eraseUser',
    method: 'DELETE',
    path: '/api/users/{userId}',
    handler: 'privacy/privacy',
    auth: 'admin',
    summary: 'Erase every personal record of a person, under every linked id, in every store',
  },
  {
    id: 'exportUser',
    method: 'GET',
    path: '/api/users/{userId}/export',
    handler: 'privacy/privacy',
    auth: 'admin',
    summary: 'Every personal record Pulse holds on a person, as JSON',
  },
  // ---- identity, users, tags, segments, links ----
  {
    id: 'identify',
    method: 'POST',
    path: '/api/identify',
    handler: 'identity/identify',
    auth: 'writeKey',
    summary: "Link a device's anonymous id to a known user (one profile across channels)",
  },
  {
    id: 'getUser',
    method: 'GET',
    path: '/api/users/{userId}',
    handler: 'users/users',
    auth: 'analyst',
    summary: 'Profile: linked ids, channels, first/last seen, counts, tags with sources, consent summary',
  },
  {
    id: 'putTags',
    method: 'PUT',
    path: '/api/users/{userId}/tags',
    handler: 'users/users',
    auth: 'admin',
    summary: 'Replace the manually set tags; answers the full tag list',
  },
  {
    id: 'addTags',
    method: 'POST',
    path: '/api/users/{userId}/tags',
    handler: 'users/users',
    auth: 'admin',
    summary: 'Add manual tags',
  },
  {
    id: 'deleteTag',
    method: 'DELETE',
    path: '/api/users/{userId}/tags/{tag}',
    handler: 'users/users',
    auth: 'admin',
    summary: 'Remove a manual tag',
  },
  {
    id: 'putRule',
    method: 'PUT',
    path: '/api/segments/rules/{ruleId}',
    handler: 'segments/segments',
    auth: 'admin',
    summary: 'Create or replace a rule that tags users from their behaviour',
  },
  {
    id: 'listRules',
    method: 'GET',
    path: '/api/segments/rules',
    handler: 'segments/segments',
    auth: 'analyst',
    summary: 'Segment rules',
  },
  {
    id: 'listSegments',
    method: 'GET',
    path: '/api/segments',
    handler: 'segments/segments',
    auth: 'analyst',
    summary: 'Tags with their sizes',
  },
  {
    id: 'segmentUsers',
    method: 'GET',
    path: '/api/segments/{tag}/users',
    handler: 'segments/segments',
    auth: 'analyst',
    summary: 'Members of a segment (paginated)',
  },
  {
    id: 'createLink',
    method: 'POST',
    path: '/api/links',
    handler: 'links/links',
    auth: 'admin',
    summary: 'Sign a tracked e-mail link',
  },
  {
    id: 'followLink',
    method: 'GET',
    path: '/r/{token}',
    handler: 'links/links',
    auth: 'none',
    summary: 'Follow a tracked link: record the click (with stored consent), then redirect',
  },
  // ---- experiments and promotion ----
  {
    id: 'putExperiment',
    method: 'PUT',
    path: '/api/experiments/{experimentId}',
    handler: 'experiments/experiments',
    auth: 'admin',
    summary: 'Create or update an experiment (variants of a running one are frozen)',
  },
  {
    id: 'getExperiment',
    method: 'GET',
    path: '/api/experiments/{experimentId}',
    handler: 'experiments/experiments',
    auth: 'analyst',
    summary: 'An experiment definition',
  },
  {
    id: 'experimentResults',
    method: 'GET',
    path: '/api/experiments/{experimentId}/results',
    handler: 'experiments/experiments',
    auth: 'analyst',
    summary: 'Exposures, conversions, rates, lift with 95% CI, p-value and SRM per variant',
  },
  {
    id: 'promotion',
    method: 'GET',
    path: '/api/promotion',
    handler: 'promotion/promotion',
    auth: 'writeKey',
    summary: 'The content this person should see at a placement (logs an exposure)',
  },
  // ---- Segment-compatible ingestion, and the API's own description ----
  ...(
    [
      'track',
      'identify',
      'page',
      'screen',
      'alias',
      'group',
      'batch',
      'b',
      't',
      'p',
      'i',
      's',
      'g',
      'a',
    ] as const
  ).map(
    (call) =>
      ({
        id: `segment_${call}`,
        method: 'POST',
        path: `/v1/${call}`,
        handler: 'segment/segment',
        auth: 'writeKey',
        summary: `Segment HTTP Tracking API: /v1/${call}`,
        segment: true,
      }) as const,
  ),
  {
    id: 'segmentSettings',
    method: 'GET',
    path: '/v1/projects/{writeKey}/settings',
    handler: 'segment/settings',
    auth: 'writeKey',
    summary: 'The settings Segment mobile SDKs fetch at start, pointing them back at Pulse',
    segment: true,
  },
  {
    id: 'openapi',
    method: 'GET',
    path: '/api/openapi.json',
    handler: 'service/openapi',
    auth: 'none',
    summary: 'OpenAPI 3.1 description of this API, generated from the route table and schemas',
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

/**
 * Path parameters when `path` matches the API Gateway path pattern, else undefined.
 * `{name}` matches one non-empty segment; `{name+}` the rest of the path.
 */
export const matchPath = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split('/');
  const have = path.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] as string;
    const actual = have[i];
    if (segment.startsWith('{') && segment.endsWith('+}')) {
      if (actual === undefined || actual === '') return undefined;
      params[segment.slice(1, -2)] = have.slice(i).map(decodeURIComponentSafe).join('/');
      return params;
    }
    if (actual === undefined) return undefined;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (actual === '') return undefined;
      params[segment.slice(1, -1)] = decodeURIComponentSafe(actual);
    } else if (segment !== actual) return undefined;
  }
  return have.length === want.length ? params : undefined;
};

const decodeURIComponentSafe = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Static segments outrank parameters, as in API Gateway: `/a/events` beats `/a/{type}`. */
const specificity = (pattern: string): number[] =>
  pattern.split('/').map((s) => (s.endsWith('+}') ? 0 : s.startsWith('{') ? 1 : 2));

const moreSpecific = (a: string, b: string): number => {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const d = (sb[i] ?? -1) - (sa[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

const routesBySpecificity: readonly RouteDef[] = [...routes].sort((a, b) => moreSpecific(a.path, b.path));

/** The route for a request, with its path parameters; `allowed` lists methods when only the method is wrong. */
export const resolveRoute = (
  method: string,
  path: string,
): { route: RouteDef; params: Record<string, string> } | { route?: undefined; allowed: HttpMethod[] } => {
  const allowed: HttpMethod[] = [];
  for (const route of routesBySpecificity) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method.toUpperCase()) return { route, params };
    if (!allowed.includes(route.method)) allowed.push(route.method);
  }
  return { allowed };
};
