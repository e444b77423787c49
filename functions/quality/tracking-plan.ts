/**
 * Tracking plans (admin declares, analysts read): a custom event's JSON Schema and mode, and the
 * violations the doors counted. The doors load the plan whole, cached per container
 * (functions/http/edge.ts): a change reaches them within that cache's lifetime (30 s).
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger } from '../adapters/observability';
import { TrackingPlanRepository } from '../adapters/tracking-plan-repository';
import { schemaErrors } from '../core/edge/tracking-plan';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './tracking-plan.contract';

const repository = new TrackingPlanRepository(documentClient(), requireEnv(tables.quality.envVar));

/** The longest range of days one violations read covers. */
export const MAX_VIOLATION_DAYS = 31;
const DAY_MS = 86_400_000;

/** UTC days from..to inclusive (default: the last 7 days up to today). */
const daysOf = (from: string | undefined, to: string | undefined, now: Date): string[] => {
  const end = Date.parse(`${to ?? now.toISOString().slice(0, 10)}T00:00:00Z`);
  const start = from ? Date.parse(`${from}T00:00:00Z`) : end - 6 * DAY_MS;
  if (Number.isNaN(start) || Number.isNaN(end))
    throw new Problem(400, 'validation_failed', 'Invalid date', [
      { path: from ? 'from' : 'to', message: 'Invalid date' },
    ]);
  if (start > end)
    throw new Problem(400, 'validation_failed', 'from must not be after to', [
      { path: 'from', message: 'Must not be after to' },
    ]);
  if ((end - start) / DAY_MS + 1 > MAX_VIOLATION_DAYS)
    throw new Problem(400, 'validation_failed', `At most ${MAX_VIOLATION_DAYS} days`, [
      { path: 'to', message: `At most ${MAX_VIOLATION_DAYS} days after from` },
    ]);
  const days: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
};

const handlers: Handlers<typeof contract> = {
  putTrackingPlanEvent: async (request, { params: { name }, body }) => {
    const invalid = schemaErrors(body.schema);
    if (invalid) throw new Problem(400, 'validation_failed', invalid, [{ path: 'schema', message: invalid }]);
    const existed = await repository.get(name);
    const entry = { name, mode: body.mode, schema: body.schema, updatedAt: request.receivedAt.toISOString() };
    await repository.put(entry);
    logger.info('tracking plan entry saved', { event: name, mode: body.mode });
    return { status: existed ? 200 : 201, body: entry };
  },
  listTrackingPlan: async () => ({ status: 200, body: { items: await repository.list() } }),
  deleteTrackingPlanEvent: async (_request, { params: { name } }) => {
    const entry = await repository.get(name);
    if (!entry || !(await repository.delete(name)))
      throw new Problem(404, 'not_found', `No tracking plan entry for ${name}`);
    logger.info('tracking plan entry removed', { event: name });
    return { status: 200, body: entry };
  },
  trackingPlanViolations: async (request, { query }) => {
    const days = daysOf(query.from, query.to, request.receivedAt);
    const items = await repository.violations(days);
    return {
      status: 200,
      body: {
        from: days[0] as string,
        to: days[days.length - 1] as string,
        total: items.reduce((n, v) => n + v.count, 0),
        items,
      },
    };
  },
};

export const handler = httpHandler({
  module: 'quality/tracking-plan',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers,
});
