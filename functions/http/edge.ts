/**
 * The edge of an ingest door, per container: the user-agent parser's memo, the country database
 * (read once), and the tracking plans (loaded whole, cached like write keys). Per request it
 * builds the `EdgeContext` the pure enrichment reads; after validation it counts plan violations
 * and, in `drop` mode, keeps bots' events off the stream. docs/data-quality.md.
 */
import { readFileSync } from 'node:fs';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { TrackingPlanRepository } from '../adapters/tracking-plan-repository';
import type { EdgeContext } from '../core/edge/enrich';
import { countryDatabase, countryFromHeader } from '../core/edge/geo';
import { type PlanViolation, TrackingPlans } from '../core/edge/tracking-plan';
import { userAgentCache } from '../core/edge/user-agent';
import type { Accepted } from '../core/ingest';
import type { Source } from '../core/sources';
import type { HttpRequest } from './types';

/**
 * The country database, or none: a missing or unreadable file is logged and counted at cold
 * start, and events go without a country rather than every request failing.
 */
const loadCountryDatabase = (): ((ip: string | undefined) => string | undefined) | undefined => {
  if (settings.countryMode !== 'mmdb') return undefined;
  try {
    if (!settings.geoDatabase) throw new Error('no database path (pulse:geoDatabase)');
    return countryDatabase(readFileSync(settings.geoDatabase));
  } catch (error) {
    logger.error('country database unusable: events go without a country', { error });
    metrics.addMetric('GeoDatabaseUnavailable', MetricUnit.Count, 1);
    return undefined;
  }
};

/** `plans: false` for a door that takes no custom events (identify): it never reads the plans. */
export const edgeOfDoor = (options: { plans: boolean }) => {
  const parseAgent = userAgentCache();
  const countryOf = loadCountryDatabase();
  const repository = new TrackingPlanRepository(documentClient(), requireEnv(tables.quality.envVar));
  const plans = new TrackingPlans();
  const cachedPlans = new Cached(async () => plans.use(await repository.list()), settings.planCacheMs);

  /**
   * A server source's requests come from its servers: their user agent, address and CloudFront
   * country are the server's, not the person's, so only what each event carries (Segment's
   * `context.userAgent`, `context.ip`) is used for those.
   */
  const context = async (request: HttpRequest, source: Source): Promise<EdgeContext> => {
    const headers = request.event.headers ?? {};
    const fromPerson = source.kind !== 'server';
    const agent = fromPerson ? parseAgent(headers['user-agent']) : undefined;
    const country = !fromPerson
      ? undefined
      : settings.countryMode === 'cloudfront'
        ? countryFromHeader(headers['cloudfront-viewer-country'])
        : countryOf?.(request.event.requestContext?.http?.sourceIp);
    return {
      botMode: settings.botMode,
      utm: settings.utmMapping,
      parseAgent,
      ...(options.plans && { plans: await cachedPlans.get() }),
      ...(countryOf && { countryOf }),
      ...(agent && { agent }),
      ...(country && { country }),
    };
  };

  /**
   * Count the request's plan violations (one write per distinct violation). A failed count is
   * logged and counted, and the events still go: they are valid, only the tally is short.
   */
  const recordViolations = async (
    outcomes: readonly { violations?: PlanViolation[] }[],
    at: Date,
  ): Promise<void> => {
    const violations = outcomes.flatMap((o) => o.violations ?? []);
    if (violations.length === 0) return;
    metrics.addMetric('TrackingPlanViolations', MetricUnit.Count, violations.length);
    try {
      await repository.record(violations, at);
    } catch (error) {
      logger.error('tracking plan violations not counted', { error, violations: violations.length });
      metrics.addMetric('TrackingPlanViolationsUncounted', MetricUnit.Count, violations.length);
    }
  };

  /** What goes on the stream: in `drop` mode, not the events of user-agent bots (counted). */
  const toPublish = (accepted: readonly Accepted[]): Accepted[] => {
    const bots = accepted.filter((a) => a.event.bot !== undefined).length;
    if (bots === 0) return [...accepted];
    metrics.addMetric(
      settings.botMode === 'drop' ? 'BotEventsDropped' : 'BotEventsFlagged',
      MetricUnit.Count,
      bots,
    );
    return settings.botMode === 'drop' ? accepted.filter((a) => a.event.bot === undefined) : [...accepted];
  };

  return { context, recordViolations, toPublish };
};
