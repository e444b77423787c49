/**
 * A route whose handler module lib/access.ts does not declare must fail synth loudly, instead of
 * producing a function with no (or someone else's) permissions.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RouteDef } from '../../lib/routes';

const rogue: RouteDef = {
  id: 'exportReports',
  method: 'GET',
  path: '/api/reports/export',
  handler: 'reports/export',
  auth: 'admin',
  summary: 'A route added without an access declaration',
};

vi.mock('../../lib/routes', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/routes')>();
  const routes = [...original.routes, rogue];
  return {
    ...original,
    routes,
    handlerModules: () => {
      const out = original.handlerModules();
      out.set(rogue.handler, [rogue]);
      return out;
    },
  };
});

describe('an undeclared handler module', () => {
  it('fails synth, naming the module and lib/access.ts', async () => {
    const { synth } = await import('../support/synth');
    expect(() => synth()).toThrow(
      /No access declaration for handler module 'reports\/export': add it to lib\/access\.ts/,
    );
  });
});
