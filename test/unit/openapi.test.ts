/**
 * The OpenAPI document: valid OpenAPI 3.1 (checked by an independent validator), every route of
 * the route table in it with its auth scheme, and the registered schemas as its request bodies.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { contracts } from '../../functions/service/contracts';
import { openApiDocument } from '../../functions/service/openapi-document';
import { type RouteDef, routes } from '../../lib/routes';

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
};

const doc = openApiDocument();
const operation = (route: RouteDef): Operation | undefined =>
  (doc.paths[route.path.replace(/\{(\w+)\+\}/g, '{$1}')] as Record<string, Operation> | undefined)?.[
    route.method.toLowerCase()
  ];

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1, and its references resolve', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
    // What the handler serves is plain JSON.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('has every route of the table, once, with its method, path parameters and operationId', () => {
    const ids = new Set<string>();
    for (const route of routes as readonly RouteDef[]) {
      const op = operation(route);
      expect([route.id, op?.operationId]).toEqual([route.id, route.id]);
      ids.add(route.id);
      const pathParams = [...route.path.matchAll(/\{(\w+)\+?\}/g)].map((m) => m[1]);
      expect(op?.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? []).toEqual(pathParams);
    }
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    expect(operations).toHaveLength(routes.length);
    expect(ids.size).toBe(routes.length);
  });

  it("states each route's auth scheme", () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'bearer',
      'writeKeyBasic',
      'writeKeyHeader',
    ]);
    for (const route of routes as readonly RouteDef[]) {
      const schemes = operation(route)?.security.flatMap((s) => Object.keys(s)) ?? [];
      const expected =
        route.auth === 'none'
          ? []
          : route.auth === 'writeKey'
            ? ['writeKeyBasic', 'writeKeyHeader']
            : ['bearer'];
      expect([route.id, schemes]).toEqual([route.id, expected]);
      if (route.auth !== 'none') expect(operation(route)?.responses['401']).toBeDefined();
    }
  });

  it("documents request bodies and path parameters from each operation's contract, and problem+json errors", () => {
    for (const [module, contract] of Object.entries(contracts))
      for (const [id, schemas] of Object.entries(
        contract as Record<string, { body?: unknown; params?: object }>,
      )) {
        const route = routes.find((r) => r.id === id) as RouteDef | undefined;
        expect([id, route?.handler]).toEqual([id, module]);
        if (schemas.body)
          expect(operation(route as RouteDef)?.requestBody?.content['application/json']).toBeDefined();
        for (const name of Object.keys(schemas.params ?? {}))
          expect(operation(route as RouteDef)?.parameters?.find((p) => p.name === name)?.in).toBe('path');
      }
    const batch = operation(routes.find((r) => r.id === 'segment_b') as RouteDef);
    const schema = batch?.requestBody?.content['text/plain']?.schema as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['batch', 'sentAt', 'writeKey', 'context']),
    );
    expect(schema.required).toEqual(['batch']);
    const consent = operation(routes.find((r) => r.id === 'putConsent') as RouteDef);
    expect(consent?.requestBody?.content['application/json']?.schema).toMatchObject({
      required: ['purposes', 'policyVersion'],
    });
    const metrics = operation(routes.find((r) => r.id === 'campaignMetrics') as RouteDef);
    expect(metrics?.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
      'from',
      'to',
      'granularity',
      'tz',
    ]);
    const trackOne = operation(routes.find((r) => r.id === 'trackOne') as RouteDef);
    expect(trackOne?.responses['202']).toBeDefined();
    expect(trackOne?.responses['413']?.content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
    expect(doc.components.schemas.Problem).toMatchObject({ required: ['type', 'title', 'status', 'code'] });
  });
});
