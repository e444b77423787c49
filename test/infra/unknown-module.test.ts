/**
 * A route or a schedule whose handler module lib/access.ts does not declare must fail synth
 * loudly, instead of producing a function with no (or someone else's) permissions.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RouteDef } from '../../lib/routes';
import type { ScheduleDef } from '../../lib/schedules';

const rogueRoute: RouteDef = {
  id: 'exportReports',
  method: 'GET',
  path: '/api/reports/export',
  handler: 'reports/export',
  auth: 'admin',
  summary: 'A route added without an access declaration',
};

const rogueSchedule: ScheduleDef = {
  name: 'reports-nightly',
  handler: 'reports/nightly',
  everyMinutes: 1440,
  summary: 'A schedule added without an access declaration',
};

// Fresh modules per test, so each mock reaches lib/pulse-stack.ts and test/support/synth.ts.
beforeEach(() => vi.resetModules());
afterEach(() => {
  vi.doUnmock('../../lib/routes');
  vi.doUnmock('../../lib/schedules');
});

describe('an undeclared handler module', () => {
  it('behind a route fails synth, naming the module and lib/access.ts', async () => {
    vi.doMock('../../lib/routes', async (importOriginal) => {
      const original = await importOriginal<typeof import('../../lib/routes')>();
      return {
        ...original,
        routes: [...original.routes, rogueRoute],
        handlerModules: () => {
          const out = original.handlerModules();
          out.set(rogueRoute.handler, [rogueRoute]);
          return out;
        },
      };
    });
    const { synth } = await import('../support/synth');
    expect(() => synth()).toThrow(
      /No access declaration for handler module 'reports\/export': add it to lib\/access\.ts/,
    );
  });

  it('behind a schedule fails synth, naming the module and lib/access.ts', async () => {
    vi.doMock('../../lib/schedules', async (importOriginal) => {
      const original = await importOriginal<typeof import('../../lib/schedules')>();
      return { ...original, schedules: [...original.schedules, rogueSchedule] };
    });
    const { synth } = await import('../support/synth');
    expect(() => synth()).toThrow(
      /No access declaration for handler module 'reports\/nightly': add it to lib\/access\.ts/,
    );
  });
});
