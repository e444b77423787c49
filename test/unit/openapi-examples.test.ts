/**
 * The API described for people (console, issue 18): every operation has an example that its own
 * contract accepts, and every query parameter says what it takes.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { parseRuleBody } from '../../functions/core/rules';
import type { OperationContract } from '../../functions/http/operations';
import { contracts } from '../../functions/service/contracts';
import { openApiDocument } from '../../functions/service/openapi-document';
import { OPERATION_EXAMPLES } from '../../functions/service/openapi-examples';
import { type RouteDef, routes } from '../../lib/routes';

const operationOf = (route: RouteDef) =>
  (contracts as unknown as Record<string, Record<string, OperationContract>>)[route.handler]?.[route.id];

const issues = (schema: z.ZodMiniType, value: unknown) => {
  const result = z.safeParse(schema, value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('operation examples', () => {
  it('exist for every route, and only for routes', () => {
    const ids = (routes as readonly RouteDef[]).map((r) => r.id);
    expect(
      ids.filter((id) => !OPERATION_EXAMPLES[id]),
      'routes without an example',
    ).toEqual([]);
    expect(Object.keys(OPERATION_EXAMPLES).filter((id) => !ids.includes(id as never))).toEqual([]);
  });

  it.each((routes as readonly RouteDef[]).map((r) => [r.id, r] as const))(
    '%s: its contract accepts it',
    (_id, route) => {
      const example = OPERATION_EXAMPLES[route.id];
      const operation = operationOf(route);
      if (!example || !operation) throw new Error(`no example or no operation for ${route.id}`);
      for (const [name, schema] of Object.entries(operation.params ?? {}))
        expect(issues(schema, example.params?.[name]), `param ${name}`).toEqual([]);
      if (operation.query) expect(issues(operation.query, example.query ?? {}), 'query').toEqual([]);
      else expect(example.query).toBeUndefined();
      if (route.id === 'putRule') expect(() => parseRuleBody(example.body)).not.toThrow();
      else if (operation.body) expect(issues(operation.body, example.body), 'body').toEqual([]);
      else expect(example.body).toBeUndefined();
      expect(example.summary.length).toBeGreaterThan(5);
    },
  );
});

describe('the OpenAPI document, for people', () => {
  const document = openApiDocument();
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      op: op as Record<string, unknown>,
    })),
  );

  it('describes every query parameter', () => {
    const undescribed = operations.flatMap(({ key, op }) =>
      ((op.parameters as { name: string; in: string; description?: string }[] | undefined) ?? [])
        .filter((p) => p.in === 'query' && !p.description)
        .map((p) => `${key} ?${p.name}`),
    );
    expect(undescribed).toEqual([]);
  });

  it('shows an example on every operation: its parameters, body or answer', () => {
    const without = operations
      .filter(
        ({ op }) => !JSON.stringify(op).includes('"examples"') && !JSON.stringify(op).includes('"example"'),
      )
      .map(({ key }) => key);
    // Operations that take nothing and answer a page or file show their example's summary.
    const silent = without.filter((key) => !operations.find((o) => o.key === key)?.op['x-example-summary']);
    expect(silent).toEqual([]);
  });

  it('spells out the time-zone rules of the campaign report', () => {
    const report = operations.find((o) => o.key === 'GET /api/metrics/campaigns/{campaignId}')?.op ?? {};
    const tz = (report.parameters as { name: string; description?: string }[]).find((p) => p.name === 'tz');
    expect(tz?.description).toContain('IANA');
    const from = (report.parameters as { name: string; description?: string }[]).find(
      (p) => p.name === 'from',
    );
    expect(from?.description).toContain('midnight in `tz`');
  });
});
