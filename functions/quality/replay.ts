/**
 * `POST /api/quarantine/replays`: the quarantined entries received in [from, to) checked again
 * against today's contract and tracking plans (functions/core/edge/replay.ts); the ones that pass
 * go on the stream with their original event ids, so the consumer's dedup makes a replay — or
 * replaying twice — count each event once. Entries stay in the quarantine until they expire. The
 * work stops before the function's time budget; the report's `nextCursor` goes on from there.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { QuarantineRepository } from '../adapters/quarantine-repository';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TrackingPlanRepository } from '../adapters/tracking-plan-repository';
import { type ReplayContext, replayEntry } from '../core/edge/replay';
import { TrackingPlans } from '../core/edge/tracking-plan';
import { userAgentCache } from '../core/edge/user-agent';
import { type Accepted, distinctById } from '../core/ingest';
import { Problem } from '../core/problem';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { publishToStream } from '../http/stream-publish';
import { contract } from './replay.contract';

const db = documentClient();
const quarantine = new QuarantineRepository(db, requireEnv(tables.quarantine.envVar));
const planRepository = new TrackingPlanRepository(db, requireEnv(tables.quality.envVar));
const plans = new TrackingPlans();
// Read fresh for every replay: an operator replays right after changing a plan.
const currentPlans = new Cached(async () => plans.use(await planRepository.list()), 0);
const parseAgent = userAgentCache();

/** Time kept back from the function's budget: the last page's publish and the answer. */
const SAFETY_MS = 3_000;
const MAX_REASONS = 50;

const replayQuarantine: Handlers<typeof contract>['replayQuarantine'] = async (request, { body }) => {
  const from = new Date(body.from).toISOString();
  const to = new Date(body.to).toISOString();
  if (from >= to)
    throw new Problem(400, 'validation_failed', 'from must be before to', [
      { path: 'from', message: 'Must be before to' },
    ]);
  const deadline = Date.now() + Math.max(1_000, request.context.getRemainingTimeInMillis() - SAFETY_MS);
  const { piiMode } = settings;
  const key = piiMode === 'hash' ? await signingKey() : undefined;
  const ctx: ReplayContext = {
    horizonDays: settings.eventHorizonDays,
    pii: { mode: piiMode, ...(key && { key }) },
    edge: {
      botMode: settings.botMode,
      utm: settings.utmMapping,
      parseAgent,
      plans: await currentPlans.get(),
    },
  };

  let scanned = 0;
  let replayed = 0;
  let stillRejected = 0;
  const reasons = new Map<string, number>();
  const eventIds: string[] = [];
  let cursor = body.cursor;
  do {
    const page = await quarantine.entriesBetween(
      { from, to, ...(body.reason !== undefined && { reason: body.reason }) },
      cursor,
    );
    const passing: Accepted[] = [];
    for (const entry of page.entries) {
      scanned++;
      const verdict = replayEntry(entry, ctx);
      if (!verdict.ok) {
        stillRejected++;
        const reason = verdict.reason.slice(0, 300);
        if (reasons.has(reason) || reasons.size < MAX_REASONS)
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      } else if ('accepted' in verdict) {
        // In `drop` mode a bot's replayed event is dropped again, as at the door.
        if (verdict.accepted.event.bot !== undefined && settings.botMode === 'drop') continue;
        passing.push(verdict.accepted);
      }
    }
    const distinct = distinctById(passing);
    for (let i = 0; i < distinct.length; i += 500) await publishToStream(distinct.slice(i, i + 500));
    replayed += passing.length;
    eventIds.push(...distinct.map((a) => a.event.eventId));
    cursor = page.nextCursor;
  } while (cursor !== undefined && Date.now() < deadline);

  metrics.addMetric('QuarantineReplayed', MetricUnit.Count, replayed);
  metrics.addMetric('QuarantineStillRejected', MetricUnit.Count, stillRejected);
  logger.info('quarantine replayed', {
    from,
    to,
    scanned,
    replayed,
    stillRejected,
    more: cursor !== undefined,
  });
  return {
    status: 200,
    body: {
      from,
      to,
      scanned,
      replayed,
      stillRejected,
      reasons: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
      eventIds,
      ...(cursor !== undefined && { nextCursor: cursor }),
    },
  };
};

export const handler = httpHandler({
  module: 'quality/replay',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { replayQuarantine },
});
