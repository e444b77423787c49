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
    // Public, so it calls no AWS API: an uptime checker or a scanner must not spend the account's
    // DescribeStreamSummary quota (shared by every stage) nor turn throttling into 5xx.
    summary: 'Liveness: the API and its function answer (no AWS call)',
  },
  {
    id: 'healthDeep',
    method: 'GET',
    path: '/api/health/deep',
    handler: 'service/health',
    auth: 'admin',
    summary: 'Readiness: the stream and every table answer (checked at most every 30 s per container)',
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
  // Erasure forwarded to vendors' deletion APIs (docs/destinations.md)
  {
    id: 'getErasure',
    method: 'GET',
    path: '/api/erasures/{erasureId}',
    handler: 'privacy/privacy',
    auth: 'admin',
    summary: "An erasure's deletion request to each destination: requested, delivered, failed or skipped",
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
  // ---- Archive: analyses over the archived events, and exports of them (docs/archive.md) ----
  {
    id: 'startAnalysis',
    method: 'POST',
    path: '/api/analytics/queries',
    handler: 'analytics/analytics',
    auth: 'analyst',
    summary: 'Start a funnel, retention or paths analysis over the archive (202, then poll)',
  },
  {
    id: 'getAnalysis',
    method: 'GET',
    path: '/api/analytics/queries/{queryId}',
    handler: 'analytics/analytics',
    auth: 'analyst',
    summary: "An analysis's status, and its result once it succeeded",
  },
  {
    id: 'createExport',
    method: 'POST',
    path: '/api/exports',
    handler: 'archive/exports',
    auth: 'admin',
    summary: 'Export archived events of a date range as Parquet or NDJSON files (202, then poll)',
  },
  {
    id: 'getExport',
    method: 'GET',
    path: '/api/exports/{exportId}',
    handler: 'archive/exports',
    auth: 'admin',
    summary: "An export's status, and presigned URLs of its files once it succeeded",
  },
  // ---- predictions: models that score people and tag them (docs/models.md) ----
  {
    id: 'putModel',
    method: 'PUT',
    path: '/api/models/{name}',
    handler: 'models/models',
    auth: 'admin',
    summary: 'Declare a model (propensity, at-risk or engagement), its schedule and the tags it sets',
  },
  {
    id: 'listModels',
    method: 'GET',
    path: '/api/models',
    handler: 'models/models',
    auth: 'analyst',
    summary: 'Models with their published version and last run',
  },
  {
    id: 'getModel',
    method: 'GET',
    path: '/api/models/{name}',
    handler: 'models/models',
    auth: 'analyst',
    summary: 'A model explained: version, training size, metrics against baselines, coefficients, importance',
  },
  {
    id: 'trainModel',
    method: 'POST',
    path: '/api/models/{name}/train',
    handler: 'models/models',
    auth: 'admin',
    summary: 'Train, evaluate, gate, publish and score now',
  },
  {
    id: 'userScores',
    method: 'GET',
    path: '/api/users/{userId}/scores',
    handler: 'models/models',
    auth: 'analyst',
    summary: "A person's scores with percentiles and the top contributions behind each",
  },
  // ---- experiments v2: feature flags and the GrowthBook SDK payload ----
  {
    id: 'putFlag',
    method: 'PUT',
    path: '/api/flags/{flagKey}',
    handler: 'experiments/features',
    auth: 'admin',
    summary: 'Create or update a feature flag (a default value and targeting rules)',
  },
  {
    id: 'getFlag',
    method: 'GET',
    path: '/api/flags/{flagKey}',
    handler: 'experiments/features',
    auth: 'analyst',
    summary: 'A feature flag definition',
  },
  {
    id: 'sdkFeatures',
    method: 'GET',
    path: '/api/features/{clientKey}',
    handler: 'experiments/features',
    auth: 'none',
    summary:
      "Running experiments and flags in GrowthBook's SDK payload format (client key: a source's write key)",
  },
  // ---- Clean data at the edge: tracking plans and the quarantine replay (docs/data-quality.md) ----
  {
    id: 'putTrackingPlanEvent',
    method: 'PUT',
    path: '/api/tracking-plan/events/{name}',
    handler: 'quality/tracking-plan',
    auth: 'admin',
    summary:
      "Declare a custom event's JSON Schema and what to do with events that break it (warn, omit, block)",
  },
  {
    id: 'listTrackingPlan',
    method: 'GET',
    path: '/api/tracking-plan/events',
    handler: 'quality/tracking-plan',
    auth: 'analyst',
    summary: 'The tracking plan: every declared custom event, its mode and schema',
  },
  {
    id: 'deleteTrackingPlanEvent',
    method: 'DELETE',
    path: '/api/tracking-plan/events/{name}',
    handler: 'quality/tracking-plan',
    auth: 'admin',
    summary: 'Remove a custom event from the tracking plan (its events are no longer checked)',
  },
  {
    id: 'trackingPlanViolations',
    method: 'GET',
    path: '/api/tracking-plan/violations',
    handler: 'quality/tracking-plan',
    auth: 'analyst',
    summary: 'Violations of the tracking plan per day range: counts and examples, never the values',
  },
  {
    id: 'replayQuarantine',
    method: 'POST',
    path: '/api/quarantine/replays',
    handler: 'quality/replay',
    auth: 'admin',
    summary:
      "Check quarantined records again against today's contract and plan; put the passing ones on the stream",
  },
  // ---- console (issue 18): what the analyst console needs, and the API's docs for humans ----
  {
    id: 'listExperiments',
    method: 'GET',
    path: '/api/experiments',
    handler: 'experiments/experiments',
    auth: 'analyst',
    summary: 'Experiments, most recently changed first; filter by status and placement',
  },
  {
    id: 'patchExperiment',
    method: 'PATCH',
    path: '/api/experiments/{experimentId}',
    handler: 'experiments/experiments',
    auth: 'admin',
    summary: "Change an experiment's status alone (start, stop, restart) under the same change rules as PUT",
  },
  {
    id: 'deleteExperiment',
    method: 'DELETE',
    path: '/api/experiments/{experimentId}',
    handler: 'experiments/experiments',
    auth: 'admin',
    summary: 'Delete a draft experiment that never ran (one that ran is stopped, never deleted: 409)',
  },
  {
    id: 'deleteRule',
    method: 'DELETE',
    path: '/api/segments/rules/{ruleId}',
    handler: 'segments/segments',
    auth: 'admin',
    summary: 'Delete a segment rule and remove the tag it gave from every member',
  },
  {
    id: 'apiDocs',
    method: 'GET',
    path: '/api/docs',
    handler: 'service/docs',
    auth: 'none',
    summary: 'This API described for people: Swagger UI over /api/openapi.json (no CDN)',
  },
  {
    id: 'apiDocsAsset',
    method: 'GET',
    path: '/api/docs/{asset}',
    handler: 'service/docs',
    auth: 'none',
    summary: "Swagger UI's script and style sheet, served from the swagger-ui-dist package",
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
        handler: 'segmentio/tracking',
        auth: 'writeKey',
        summary: `Segment HTTP Tracking API: /v1/${call}`,
        segment: true,
      }) as const,
  ),
  {
    id: 'segmentSettings',
    method: 'GET',
    path: '/v1/projects/{writeKey}/settings',
    handler: 'segmentio/settings',
    auth: 'writeKey',
    summary: 'The settings Segment mobile SDKs fetch at start, pointing them back at Pulse',
    segment: true,
  },
  // ---- traits: declarations, CRM connectors, bulk imports (docs/traits.md) ----
  {
    id: 'putTrait',
    method: 'PUT',
    path: '/api/traits/{name}',
    handler: 'traits/traits',
    auth: 'admin',
    summary: 'Declare a trait: its type, how personal data in it is handled, the purpose it serves',
  },
  {
    id: 'listTraits',
    method: 'GET',
    path: '/api/traits',
    handler: 'traits/traits',
    auth: 'admin',
    summary: 'Declared traits',
  },
  {
    id: 'putConnector',
    method: 'PUT',
    path: '/api/connectors/{connectorId}',
    handler: 'traits/connectors',
    auth: 'admin',
    summary: 'Configure a CRM connector (HubSpot): the contact properties it pulls into which traits',
  },
  {
    id: 'connectorStatus',
    method: 'GET',
    path: '/api/connectors/{connectorId}/status',
    handler: 'traits/connectors',
    auth: 'admin',
    summary: "A connector's cursor, last run and its counts (never values)",
  },
  {
    id: 'createImport',
    method: 'POST',
    path: '/api/imports',
    handler: 'traits/imports',
    auth: 'admin',
    summary: 'Start a bulk import of traits and tags (CSV or NDJSON): returns a presigned upload URL',
  },
  {
    id: 'getImport',
    method: 'GET',
    path: '/api/imports/{importId}',
    handler: 'traits/imports',
    auth: 'admin',
    summary: "An import's progress and report: rows applied, rows rejected with line numbers and reasons",
  },
  {
    id: 'openapi',
    method: 'GET',
    path: '/api/openapi.json',
    handler: 'service/openapi',
    auth: 'none',
    summary: 'OpenAPI 3.1 description of this API, generated from the route table and schemas',
  },
  // Destinations (docs/destinations.md): outbound delivery, status, replays; campaign alerts.
  {
    id: 'putDestination',
    method: 'PUT',
    path: '/api/destinations/{destinationId}',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Create or replace a destination (credentials go to Secrets Manager, never echoed)',
  },
  {
    id: 'listDestinations',
    method: 'GET',
    path: '/api/destinations',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Destinations (never their credentials)',
  },
  {
    id: 'getDestination',
    method: 'GET',
    path: '/api/destinations/{destinationId}',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'One destination (never its credentials)',
  },
  {
    id: 'deleteDestination',
    method: 'DELETE',
    path: '/api/destinations/{destinationId}',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Delete a destination and its credentials',
  },
  {
    id: 'destinationStatus',
    method: 'GET',
    path: '/api/destinations/{destinationId}/status',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Delivered, retrying, dead, lag, last errors, circuit breaker',
  },
  {
    id: 'resumeDestination',
    method: 'POST',
    path: '/api/destinations/{destinationId}/resume',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Close the circuit breaker: delivery resumes at the next redrive',
  },
  {
    id: 'replayDestination',
    method: 'POST',
    path: '/api/destinations/{destinationId}/replays',
    handler: 'destinations/destinations',
    auth: 'admin',
    summary: 'Send the archived events of a window again (vendors deduplicate on event ids)',
  },
  {
    id: 'putAlert',
    method: 'PUT',
    path: '/api/alerts/{alertId}',
    handler: 'alerts/alerts',
    auth: 'analyst',
    summary: 'Create or replace a campaign alert (threshold or change against its baseline)',
  },
  {
    id: 'listAlerts',
    method: 'GET',
    path: '/api/alerts',
    handler: 'alerts/alerts',
    auth: 'analyst',
    summary: 'Campaign alerts and their last evaluation',
  },
  {
    id: 'deleteAlert',
    method: 'DELETE',
    path: '/api/alerts/{alertId}',
    handler: 'alerts/alerts',
    auth: 'analyst',
    summary: 'Delete a campaign alert',
  },
] as const satisfies readonly RouteDef[];

export type RouteId = (typeof routes)[number]['id'];
/** Every handler module that serves routes. */
export type HandlerModule = (typeof routes)[number]['handler'];
/** The routes a handler module serves. */
export type RouteOf<M extends HandlerModule> = Extract<(typeof routes)[number], { handler: M }>;
/** `/api/users/{userId}/tags/{tag}` → `'userId' | 'tag'`: the path parameters of a route, by type. */
export type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? (Name extends `${infer Greedy}+` ? Greedy : Name) | PathParams<Rest>
  : never;

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

// ---- Matching, as API Gateway does it: the one matcher the local gateway and the `$default`
// function share.

/** Anything routable: a RouteDef, or a test's own route (any method, `ANY` too). */
export interface RoutePattern {
  readonly method: string;
  readonly path: string;
}

type Segment =
  | { kind: 'static'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

const parseSegments = (path: string): Segment[] =>
  path
    .split('/')
    .slice(1)
    .map((s): Segment => {
      const m = /^\{([^}]+?)(\+)?\}$/.exec(s);
      if (!m) return { kind: 'static', value: s };
      return m[2] ? { kind: 'greedy', name: m[1] as string } : { kind: 'param', name: m[1] as string };
    });

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Path parameters when the raw path's parts match the segments, else undefined. */
const matchSegments = (segments: Segment[], parts: string[]): Record<string, string> | undefined => {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment;
    if (seg.kind === 'greedy') {
      const rest = parts.slice(i);
      if (!rest.length || rest.every((p) => p === '')) return undefined;
      params[seg.name] = rest.map(decode).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === 'static') {
      if (decode(part) !== seg.value) return undefined;
    } else {
      if (part === '') return undefined;
      params[seg.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
};

const RANK = { static: 0, param: 1, greedy: 2 } as const;

/** API Gateway's precedence: segment by segment, static beats a variable, greedy comes last; exact method beats ANY. */
const moreSpecific = (
  a: { segments: Segment[]; method: string },
  b: { segments: Segment[]; method: string },
): number => {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ka = a.segments[i]?.kind;
    const kb = b.segments[i]?.kind;
    if (ka === kb) continue;
    if (ka === undefined) return 1;
    if (kb === undefined) return -1;
    return RANK[ka] - RANK[kb];
  }
  return (a.method === 'ANY' ? 1 : 0) - (b.method === 'ANY' ? 1 : 0);
};

export type RouteMatch<R> =
  | { route: R; params: Record<string, string> }
  | { route?: undefined; allowed: string[] };

/**
 * The route API Gateway would pick for a method and raw path, with its path parameters; when
 * none, the methods the path does exist for (a 405 rather than a 404).
 */
export const createRouteMatcher = <R extends RoutePattern>(list: readonly R[]) => {
  const compiled = list
    .map((route) => ({ route, method: route.method, segments: parseSegments(route.path) }))
    .sort(moreSpecific);
  return (method: string, rawPath: string): RouteMatch<R> => {
    const parts = rawPath.split('/').slice(1);
    const allowed: string[] = [];
    for (const c of compiled) {
      const params = matchSegments(c.segments, parts);
      if (!params) continue;
      if (c.method === method.toUpperCase() || c.method === 'ANY') return { route: c.route, params };
      if (!allowed.includes(c.method)) allowed.push(c.method);
    }
    return { allowed };
  };
};

/** The route-table route for a request (see createRouteMatcher). */
export const resolveRoute: (method: string, path: string) => RouteMatch<RouteDef> =
  createRouteMatcher<RouteDef>(routes);
