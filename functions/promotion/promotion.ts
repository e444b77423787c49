import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { ConsentRepository } from '../adapters/consent-repository';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { MetricUnit, metrics } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { RateLimiter } from '../adapters/rate-limiter';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { userAgentCache } from '../core/edge/user-agent';
import { bucketableOf, holdoutsAt } from '../core/experiment-design';
import {
  exposureEvent,
  type PromotionConsent,
  type PromotionQuery,
  promotionConsent,
  runningAt,
  type StoredExperiment,
} from '../core/experiments';
import { accepted } from '../core/ingest';
import type { PersonStats } from '../core/person';
import { Problem } from '../core/problem';
import { keyedIdHash } from '../core/signing';
import { assignVariant, isTargeted, targetsTags, targetsTraits } from '../core/variant-assignment';
import { enforceRateLimit } from '../http/door';
import { httpHandler } from '../http/handler';
import { requireIdentity } from '../http/identity-proof';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { publishToStream } from '../http/stream-publish';
import type { HttpRequest, HttpResponse } from '../http/types';
import { sourceWriteKeys } from '../http/write-keys';
import { contract } from './promotion.contract';

const db = documentClient();
const experiments = new ExperimentsRepository(db, requireEnv(tables.experiments.envVar));
const tags = new TagsRepository(db, requireEnv(tables.tags.envVar));
const identity = new IdentityReader(db, requireEnv(tables.users.envVar));
// Trait targeting reads the person item by key (BatchGetItem: the users table's lookup level).
const people = new PeopleRepository(db, requireEnv(tables.users.envVar));
const limiter = new RateLimiter(db, requireEnv(tables.limits.envVar));
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const verifyJwt = jwtAuthenticator();
const userAgents = userAgentCache();
const { consentRequired } = settings;
// Definitions are cached: the promotion is on the apps' hot path and must not read them per request.
const definitions = new Cached(() => experiments.list(), settings.experimentCacheMs);

/**
 * Exposures this container already put on the stream: serving the same person again sends
 * nothing (the consumer would drop the duplicate anyway; its id is deterministic).
 */
const SENT_TTL_MS = 10 * 60_000;
const SENT_MAX = 50_000;
const sent = new Map<string, number>();
const alreadySent = (eventId: string, now: number) => (sent.get(eventId) ?? 0) > now;
const rememberSent = (eventId: string, now: number) => {
  if (sent.size >= SENT_MAX) sent.clear();
  sent.set(eventId, now + SENT_TTL_MS);
};

const NO_STORE = { 'cache-control': 'private, no-store' };
const noContent = (): HttpResponse => ({ status: 204, headers: NO_STORE });
const ok = (body: Record<string, unknown>): HttpResponse => ({ status: 200, body, headers: NO_STORE });

const NOTHING: PromotionConsent = { personalization: false, analytics: false };

/**
 * What consent allows for the person the request names: the token must be for that person's own
 * id (the user id when one is named, else the anonymous id) — a token for one id never fetches
 * another's promotion — and the stored state wins over any token: a withdrawal, or an erasure the
 * person has not consented again since, allows nothing.
 */
const consentOf = async (request: HttpRequest, query: PromotionQuery): Promise<PromotionConsent> => {
  const subject = (query.userId ?? query.anonymousId) as string;
  const key = await signingKey();
  const [markers, current] = await Promise.all([
    consent.erasedAmong([keyedIdHash(key, subject)]),
    consentRequired ? consent.currentFor([subject]) : Promise.resolve(new Map()),
  ]);
  const marker = [...markers.values()][0];
  if (marker && !(marker.resumedAt !== undefined && request.receivedAt.toISOString() >= marker.resumedAt))
    return NOTHING;
  if (!consentRequired) return { personalization: true, analytics: true };
  const token = request.event.headers?.['x-consent-token'];
  if (!token) return NOTHING;
  const fromToken = promotionConsent(
    key,
    token,
    query.userId !== undefined ? { userId: query.userId } : { anonymousId: query.anonymousId },
    request.receivedAt,
  );
  const stored = current.get(subject)?.purposes;
  return {
    personalization: fromToken.personalization && stored?.personalization !== false,
    analytics: fromToken.analytics && stored?.analytics !== false,
  };
};

/**
 * The QA override (`variant=`) shows any variant to anyone who asks, so it needs an admin's
 * Bearer token beside the write key; its errors never list the experiment's variants.
 */
const requireQaAdmin = async (request: HttpRequest): Promise<void> => {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(request.event.headers?.authorization ?? '')?.[1];
  const user = token ? await verifyJwt(token).catch(() => undefined) : undefined;
  if (!user?.roles.has('admin'))
    throw new Problem(403, 'forbidden', 'Forcing a variant needs an admin token (Authorization: Bearer)', [
      { path: 'variant', message: 'Needs an admin token' },
    ]);
};

/** The person's profile, for trait targeting (a frozen anonymous profile's user holds its traits). */
const statsOf = async (personKey: string): Promise<PersonStats | undefined> => {
  const stored = (await people.load([personKey])).people.get(personKey);
  const user = stored?.stats.mergedInto;
  const holder = user ? (await people.load([user])).people.get(user) : stored;
  return holder && holder.version > 0 ? holder.stats : undefined;
};

/** The person's tags (both ids' when both are given: an identify merge may still be in flight). */
const tagsOf = async (ids: readonly string[]): Promise<Set<string>> => {
  const perId = await Promise.all(ids.map((id) => tags.personTags(id)));
  return new Set(perId.flat().map((t) => t.tag));
};

/**
 * Who holds the assignment: the userId; without one, the user an identify linked the
 * anonymous id to (so a device that still sends only its anonymous id after login sees the
 * user's variant), else the anonymous id.
 */
const assigneeOf = async (query: PromotionQuery): Promise<string> => {
  if (query.userId !== undefined) return query.userId;
  const anonymousId = query.anonymousId as string;
  return identity.resolvePerson(anonymousId);
};

/**
 * The variant this person sees: stored (the assignee's, else the anonymous id's, carried over
 * and stored for the assignee), else bucketed now and stored at this first exposure.
 * undefined: outside the coverage gate.
 */
const assignmentOf = async (
  experiment: StoredExperiment,
  assignee: string,
  anonymousId: string | undefined,
  now: Date,
): Promise<string | undefined> => {
  const other = anonymousId !== undefined && anonymousId !== assignee ? anonymousId : undefined;
  const stored = await experiments.assignments(
    other === undefined ? [assignee] : [assignee, other],
    experiment.experimentId,
    now,
  );
  const known = (variant: string | undefined) =>
    variant !== undefined && experiment.variants.some((v) => v.id === variant) ? variant : undefined;
  const mine = known(stored.get(assignee)?.variant);
  if (mine) return mine;
  const carried = other === undefined ? undefined : known(stored.get(other)?.variant);
  // A bandit buckets new persons by its current allocation; stored assignments keep theirs.
  const variant = carried ?? assignVariant(bucketableOf(experiment), assignee);
  if (variant === undefined) return undefined;
  const kept = await experiments.assign(assignee, experiment.experimentId, variant, now);
  return known(kept.variant) ?? variant;
};

const promotion: Handlers<typeof contract>['promotion'] = async (request, { query }) => {
  if (request.principal.kind !== 'source') throw new Problem(401, 'unauthorized');
  const { source } = request.principal;
  await enforceRateLimit(limiter, source, 1);
  requireIdentity(request, {
    signingKey: await signingKey(),
    mode: settings.identityVerification,
    userId: query.userId,
    action: 'promotion',
  });
  if (query.variant !== undefined) await requireQaAdmin(request);

  const experiment = runningAt(await definitions.get(), query.placement);
  if (!experiment) return noContent();
  const forced =
    query.variant === undefined ? undefined : experiment.variants.find((v) => v.id === query.variant);
  if (query.variant !== undefined && !forced)
    throw new Problem(400, 'validation_failed', `Experiment ${experiment.experimentId} has no such variant`, [
      { path: 'variant', message: 'No such variant' },
    ]);
  const base = { experimentId: experiment.experimentId };

  const consent = await consentOf(request, query);
  const control = experiment.variants[0] as StoredExperiment['variants'][number];
  if (!consent.personalization)
    return ok({ ...base, variant: control.id, content: control.content, personalized: false });
  if (forced)
    return ok({ ...base, variant: forced.id, content: forced.content, personalized: true, forced: true });
  // Clean data at the edge: a bot's user agent is served the control, and no exposure is logged
  // (a server source's user agent is its server's, so not judged).
  if (source.kind !== 'server' && userAgents(request.event.headers?.['user-agent'])?.bot) {
    metrics.addMetric('BotPromotionsServedControl', MetricUnit.Count, 1);
    return ok({ ...base, variant: control.id, content: control.content, personalized: false });
  }

  // The event keeps the envelope's person key (the consumer resolves aliases itself).
  const personKey = (query.userId ?? query.anonymousId) as string;
  const assignee = await assigneeOf(query);
  const ids = [...new Set([assignee, query.anonymousId].filter((id): id is string => id !== undefined))];
  const channel = query.channel ?? source.channel;
  const all = await definitions.get();
  const holdouts = holdoutsAt(all, query.placement);
  const needsTags = [experiment, ...holdouts].some((e) => targetsTags(e.targeting));
  const tags = needsTags ? await tagsOf(ids) : new Set<string>();
  const needsStats = [experiment, ...holdouts].some((e) => targetsTraits(e.targeting));
  const stats = needsStats ? await statsOf(assignee) : undefined;
  const person = {
    tags,
    channel,
    deviceType: query.deviceType,
    ...(stats && { stats }),
    now: request.receivedAt,
  };
  const exposed = (e: StoredExperiment, variant: string) =>
    consent.analytics
      ? logExposure({
          experimentId: e.experimentId,
          variant,
          placement: query.placement,
          goal: e.goal,
          personKey,
          userId: query.userId,
          anonymousId: query.anonymousId,
          channel,
          deviceType: query.deviceType,
          sourceId: source.sourceId,
          now: request.receivedAt,
        })
      : Promise.resolve();

  // experiments v2: holdouts come first; the held-out group gets the default (204), and both
  // groups count as the holdout's exposures.
  for (const holdout of holdouts) {
    if (!isTargeted(holdout.targeting, person)) continue;
    const group = await assignmentOf(holdout, assignee, query.anonymousId, request.receivedAt);
    if (group === undefined) continue;
    await exposed(holdout, group);
    if (group === holdout.variants[0]?.id) return noContent();
  }

  if (!isTargeted(experiment.targeting, person)) return noContent();

  const variantId = await assignmentOf(experiment, assignee, query.anonymousId, request.receivedAt);
  const variant = experiment.variants.find((v) => v.id === variantId);
  if (!variant) return noContent();

  await exposed(experiment, variant.id);
  return ok({ ...base, variant: variant.id, content: variant.content, personalized: true });
};

/** Put the exposure on the stream once per container and person (its id is deterministic anyway). */
const logExposure = async (input: Parameters<typeof exposureEvent>[0]): Promise<void> => {
  const event = exposureEvent(input);
  const now = input.now.getTime();
  if (alreadySent(event.eventId, now)) return;
  // Served content is counted or not served: a stream that refuses the exposure is a 503.
  await publishToStream([accepted(event)]);
  rememberSent(event.eventId, now);
};

export const handler = httpHandler({
  module: 'promotion/promotion',
  contract,
  authenticators: { writeKey: sourceWriteKeys() },
  handlers: { promotion },
});
