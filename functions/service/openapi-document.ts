/**
 * The OpenAPI 3.1 document, generated: every route of the route table (method, path, auth) with
 * the schemas of its operation's contract (functions/service/contracts.ts), as JSON Schema
 * 2020-12 (OpenAPI 3.1's own dialect, from zod 4's toJSONSchema). Pure: no AWS client.
 */
import * as z from 'zod/mini';
import { type AuthKind, type RouteDef, routes } from '../../lib/routes';
import { LIMITS } from '../core/events';
import { problemSchema } from '../core/response-schemas';
import { SEGMENT_LIMITS } from '../core/segmentio/protocol';
import type { OperationContract } from '../http/operations';
import { contracts } from './contracts';
// console (issue 18): examples and parameter descriptions for people
import { OPERATION_EXAMPLES, type OperationExample, QUERY_DESCRIPTIONS } from './openapi-examples';

type RouteSchemas = OperationContract;

type Json = Record<string, unknown>;

/**
 * Definitions that recursive schemas (a segment rule's conditions) refer to: JSON Schema puts
 * them under the schema's own `$defs`, which an embedded schema cannot point at from inside an
 * OpenAPI document; they are hoisted into `components.schemas` under names of their own.
 */
let hoisted: Record<string, Json> = {};
let hoistedCount = 0;

const rewriteRefs = (value: unknown, renames: Map<string, string>): unknown => {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, renames));
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === '$ref' && typeof v === 'string' && renames.has(v)) out[k] = renames.get(v);
    else out[k] = rewriteRefs(v, renames);
  }
  return out;
};

/** A zod schema as JSON Schema: requests as clients may send them, answers as Pulse writes them. */
export const jsonSchemaOf = (schema: z.ZodMiniType, io: 'input' | 'output'): Json => {
  const {
    $schema: _dialect,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // Refinements and transforms have no JSON Schema form: the base type is documented.
    unrepresentable: 'any',
  }) as Json & { $defs?: Record<string, Json> };
  if (!$defs) return rest;
  const renames = new Map<string, string>();
  for (const name of Object.keys($defs))
    renames.set(`#/$defs/${name}`, `#/components/schemas/Def${++hoistedCount}`);
  for (const [name, def] of Object.entries($defs))
    hoisted[(renames.get(`#/$defs/${name}`) as string).split('/').pop() as string] = rewriteRefs(
      def,
      renames,
    ) as Json;
  return rewriteRefs(rest, renames) as Json;
};

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: PROBLEM_REF } },
});

const SECURITY_SCHEMES = {
  writeKeyBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      "A source's write key as the user name, empty password: `Basic base64(writeKey + ':')` (Segment's form)",
  },
  writeKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: "A source's write key" },
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A Cognito user pool JWT; the role (analyst, admin) comes from `cognito:groups`',
  },
} as const;

const securityOf = (route: RouteDef): Json[] => {
  const kind: AuthKind = route.auth;
  if (kind === 'none') return [];
  if (kind !== 'writeKey') return [{ bearer: [] }];
  // Segment routes also take the key in the body (`writeKey`) or the path: no header at all.
  return [{ writeKeyBasic: [] }, { writeKeyHeader: [] }, ...(route.segment ? [{}] : [])];
};

/** `/r/{token}` stays; API Gateway's greedy `{proxy+}` is an ordinary parameter in OpenAPI. */
const openApiPath = (path: string) => path.replace(/\{(\w+)\+\}/g, '{$1}');
const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\+?\}/g)].map((m) => m[1] as string);

const tagOf = (route: RouteDef) => (route.segment ? 'segment' : (route.handler.split('/')[0] ?? 'api'));

const parametersOf = (route: RouteDef, schemas: RouteSchemas | undefined): Json[] => {
  const example = exampleOf(route);
  const params: Json[] = pathParams(route.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: schemas?.params?.[name]
      ? jsonSchemaOf(schemas.params[name], 'input')
      : { type: 'string', minLength: 1 },
    ...(example?.params?.[name] !== undefined && { example: example.params[name] }),
  }));
  if (schemas?.query) {
    const query = jsonSchemaOf(schemas.query, 'input') as { properties?: Json; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      // The schema's own description (formats, defaults, time zones), else the shared one by name.
      const description = (schema as { description?: string }).description ?? QUERY_DESCRIPTIONS[name];
      params.push({
        name,
        in: 'query',
        required: query.required?.includes(name) ?? false,
        ...(description && { description }),
        schema,
        ...(example?.query?.[name] !== undefined && { example: example.query[name] }),
      });
    }
  }
  return params;
};

/** console (issue 18): the route's example (functions/service/openapi-examples.ts). */
const exampleOf = (route: RouteDef): OperationExample | undefined => OPERATION_EXAMPLES[route.id];
const examplesOf = (route: RouteDef, value: unknown) => {
  const example = exampleOf(route);
  return example && value !== undefined
    ? { examples: { [route.id]: { summary: example.summary, value } } }
    : {};
};

const hasBody = (route: RouteDef) =>
  route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';

const requestBodyOf = (route: RouteDef, schemas: RouteSchemas | undefined): Json | undefined => {
  if (!hasBody(route) && !schemas?.body) return undefined;
  const schema = schemas?.body ? jsonSchemaOf(schemas.body, 'input') : { type: 'object' };
  const content: Json = { 'application/json': { schema, ...examplesOf(route, exampleOf(route)?.body) } };
  // Segment's SDKs send text/plain (analytics.js, analytics-kotlin), gzip or not: read as JSON.
  if (route.segment) content['text/plain'] = { schema };
  return { required: schemas?.body !== undefined, content };
};

const responsesOf = (route: RouteDef, schemas: RouteSchemas | undefined): Json => {
  const responses: Json = {};
  for (const [status, doc] of Object.entries(schemas?.responses ?? { 200: { description: 'OK' } }))
    responses[status] = {
      description: doc.description,
      content: {
        'application/json': {
          schema: doc.schema ? jsonSchemaOf(doc.schema, 'output') : {},
          ...(Number(status) < 300 ? examplesOf(route, exampleOf(route)?.response) : {}),
        },
      },
    };
  const body = hasBody(route);
  if (body || schemas?.query || pathParams(route.path).length > 0)
    responses[400] = problem('Invalid request: `errors[].path` names each offending field');
  if (route.auth !== 'none') responses[401] = problem('Missing or unknown credentials');
  if (route.auth === 'analyst' || route.auth === 'admin')
    responses[403] = problem(`Needs the ${route.auth} role`);
  else if (route.auth === 'writeKey' && body)
    responses[403] = problem(
      'Forbidden: on ingest routes, no valid consent for the subject (consent_required, consent_invalid)',
    );
  if (pathParams(route.path).length > 0) responses[404] = problem('Not found');
  if (body) {
    const limit = route.segment
      ? `${SEGMENT_LIMITS.messageBytes} bytes per message, ${SEGMENT_LIMITS.requestBytes} per request`
      : `${LIMITS.eventBytes} bytes per event, ${LIMITS.bodyBytes} per request, ${LIMITS.batchEvents} events per batch`;
    responses[413] = problem(`Over a limit (${limit}); \`limit\` says which`);
    if (!route.segment) responses[415] = problem('Not JSON');
  }
  if (route.auth === 'writeKey') {
    responses[429] = problem("Over the source's rate limit: retry after `Retry-After` seconds");
    if (body)
      responses[503] = problem('The stream did not take the events: retry after `Retry-After` seconds');
  }
  responses.default = problem('Any other error, as problem+json');
  return responses;
};

const SEGMENT_NOTE =
  ' Segment-compatible: the body is read as JSON whatever its Content-Type, gzip-compressed or not; ' +
  'the write key may also come as the `writeKey` body field (analytics.js, mobile SDKs).';

/** The document, without `servers` (the handler adds the host it was called on). */
export const openApiDocument = () => {
  hoisted = {};
  hoistedCount = 0;
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes as readonly RouteDef[]) {
    const schemas = (contracts as unknown as Record<string, Record<string, OperationContract>>)[
      route.handler
    ]?.[route.id];
    const operation: Json = {
      operationId: route.id,
      summary: route.summary,
      ...(exampleOf(route) && { 'x-example-summary': exampleOf(route)?.summary }),
      tags: [tagOf(route)],
      security: securityOf(route),
      responses: responsesOf(route, schemas),
    };
    if (route.segment && hasBody(route)) operation.description = `${route.summary}.${SEGMENT_NOTE}`;
    if (route.auth === 'analyst' || route.auth === 'admin') operation['x-pulse-role'] = route.auth;
    const parameters = parametersOf(route, schemas);
    if (parameters.length > 0) operation.parameters = parameters;
    const requestBody = requestBodyOf(route, schemas);
    if (requestBody) operation.requestBody = requestBody;
    const path = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, Json>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pulse',
      version: '1',
      summary: 'Serverless engagement tracking for targeted promotion',
      description:
        'Ingestion (own API and Segment-compatible), consent, identity, metrics and experiments. ' +
        'Every error is application/problem+json with a stable `code`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problemSchema, 'output'), ...hoisted },
      securitySchemes: SECURITY_SCHEMES,
    },
    tags: [...new Set((routes as readonly RouteDef[]).map(tagOf))].map((name) => ({ name })),
  };
};
