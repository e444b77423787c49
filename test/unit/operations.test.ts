/**
 * Operations are checked against the route table by type: the `@ts-expect-error` lines below
 * are what `npm run typecheck` refuses — were any of them accepted, typecheck would fail on the
 * unused directive. The run-time half: every route has exactly one operation, in its module.
 */

import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { personIdSchema } from '../../functions/core/events';
import type { Contract, Handlers } from '../../functions/http/operations';
import { contracts } from '../../functions/service/contracts';
import { type HandlerModule, type PathParams, routes } from '../../lib/routes';

const consentOperations = {
  putConsent: { params: { userId: personIdSchema } },
  getConsent: { params: { userId: personIdSchema } },
};

describe('operations and the route table', () => {
  it('refuse, by type, a route without an operation, an operation without a route, and unvalidated parameters', () => {
    // The complete contract is accepted.
    const complete: Contract<'consent/consent'> = consentOperations;
    // @ts-expect-error a route of the module (getConsent) has no operation
    const missing: Contract<'consent/consent'> = { putConsent: consentOperations.putConsent };
    const extra = {
      ...consentOperations,
      // @ts-expect-error an operation for no route of the module
      deleteConsent: { params: { userId: personIdSchema } },
    } satisfies Contract<'consent/consent'>;
    // @ts-expect-error a path parameter ({userId}) without a schema
    const unvalidated: Contract<'consent/consent'> = { ...consentOperations, getConsent: {} };
    const handlers: Handlers<typeof consentOperations> = {
      putConsent: async () => ({ status: 200 }),
      getConsent: async () => ({ status: 200 }),
    };
    // @ts-expect-error an operation without its handle
    const unhandled: Handlers<typeof consentOperations> = { putConsent: handlers.putConsent };
    const params: PathParams<'/api/users/{userId}/tags/{tag}'> = 'tag';
    expect([complete, missing, extra, unvalidated, unhandled, params, z]).toHaveLength(7);
  });

  it('give every route exactly one operation, in the contract of its handler module', () => {
    const declared = Object.entries(contracts).flatMap(([module, contract]) =>
      Object.keys(contract).map((id) => `${module} ${id}`),
    );
    expect(declared.sort()).toEqual(routes.map((r) => `${r.handler} ${r.id}`).sort());
    expect(Object.keys(contracts).sort()).toEqual(
      [...new Set(routes.map((r) => r.handler as HandlerModule))].sort(),
    );
  });

  it('validate every path parameter of every route', () => {
    for (const route of routes) {
      const names = [...route.path.matchAll(/\{(\w+)\+?\}/g)].map((m) => m[1]);
      const operation = (contracts as Record<string, Record<string, { params?: object }>>)[route.handler]?.[
        route.id
      ];
      expect([route.id, Object.keys(operation?.params ?? {}).sort()]).toEqual([route.id, names.sort()]);
    }
  });
});
