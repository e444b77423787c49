/**
 * Erasure forwarded to the vendors that have a deletion API, as Segment forwards user deletions:
 *
 *  1. request (the erasure handler): one deletion request per destination whose type has a deletion
 *     API — enabled or not, paused or not: a destination that stopped receiving still holds what it
 *     received — recorded in the outbox table, due now (functions/adapters/erasure-requests.ts);
 *  2. forward (the redrive, every minute): each due request is claimed, planned by its vendor's codec
 *     (functions/core/destinations/deletion.ts) with the destination's credentials, sent at the
 *     destination's pace, and settled: delivered, retried with the outbox's backoff (429, 5xx,
 *     timeouts), or failed (a 4xx, or still failing after the outbox's retries) — the vendor's short
 *     answer kept without the person's ids, the ids dropped.
 *
 * Not judged by consent or erasure markers as other messages are: this message is the erasure.
 */
import type { DestinationSecrets } from '../adapters/destination-secrets';
import type { DestinationsRepository } from '../adapters/destinations-repository';
import type { DeletionItem, ErasureRequests } from '../adapters/erasure-requests';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { LEASE_MS } from '../adapters/outbox-repository';
import type { Destination } from '../core/destinations/definition';
import { allIds, combineOutcomes, type ErasedPerson, redactIds } from '../core/destinations/deletion';
import { type ItemOutcome, nextStep, shortAnswer, type VendorAnswer } from '../core/destinations/delivery';
import { type VendorRequest, vendors } from '../core/destinations/vendors';
import type { Pacer } from './deliver';

/** Deletion requests taken per run (erasures are rare; a backlog drains over the next runs). */
export const FORWARD_ROUND = 100;

export interface ForwardDeps {
  requests: ErasureRequests;
  destinations: Pick<DestinationsRepository, 'get'>;
  secrets: DestinationSecrets;
  send: (request: VendorRequest) => Promise<VendorAnswer>;
  pace: Pacer;
  random?: () => number;
  /** The clock requests are signed with (default: the system clock). */
  clock?: () => Date;
}

/** Which destinations an erasure is forwarded to: every one whose type has a deletion API. */
export const deletionTargets = (list: readonly Destination[]): Destination[] =>
  list.filter((d) => vendors[d.type]?.deletion !== undefined);

/** Step 1: records the requests; answers each destination's status (all `requested`). */
export const requestDeletions = async (
  requests: ErasureRequests,
  list: readonly Destination[],
  person: ErasedPerson,
  now: Date,
): Promise<Record<string, 'requested'>> => {
  const targets = deletionTargets(list);
  if (targets.length > 0)
    await requests.request(
      person,
      targets.map((d) => ({ destinationId: d.destinationId, type: d.type })),
      now,
    );
  return Object.fromEntries(targets.map((d) => [d.destinationId, 'requested' as const]));
};

/** What became of one request in a run. */
export interface Forwarded {
  destinationId: string;
  erasureId: string;
  outcome: 'delivered' | 'retried' | 'failed' | 'skipped';
  /** The vendor's short answer (or why nothing was sent), ids blanked. */
  answer: string;
}

/** Sends one request's plan; the combined outcome and the last answer worth keeping. */
const attempt = async (
  deps: ForwardDeps,
  d: Destination | undefined,
  item: DeletionItem,
): Promise<{ outcome: ItemOutcome | 'skipped'; answer: string }> => {
  if (!d) return { outcome: { kind: 'rejected', reason: 'the destination was deleted' }, answer: '' };
  const deletion = vendors[d.type]?.deletion;
  if (!deletion) return { outcome: 'skipped', answer: `${d.type} has no deletion API` };
  const credentials = await deps.secrets.read(d.destinationId);
  const now = (deps.clock ?? (() => new Date()))();
  // OAuth first where the API needs a token (GA4): a failed exchange is the attempt's outcome.
  let token: string | undefined;
  if (deletion.auth) {
    const request = deletion.auth.request(d.settings, credentials, now);
    if ('skipped' in request) return { outcome: 'skipped', answer: request.skipped };
    const got = await deps.send(request);
    const read = deletion.auth.token(got, Date.now());
    if (!('token' in read)) return { outcome: read, answer: `token: ${shortAnswer(got)}` };
    token = read.token;
  }
  const plan = deletion.plan(d.settings, credentials, item.person, now, token);
  if ('skipped' in plan) return { outcome: 'skipped', answer: plan.skipped };
  const outcomes: ItemOutcome[] = [];
  let answer = '';
  for (const request of plan.requests) {
    await deps.pace.wait(d.destinationId, d.settings.rateLimitPerSecond as number | undefined);
    const got = await deps.send(request);
    const outcome = deletion.interpret(got, Date.now());
    outcomes.push(outcome);
    // Keep the answer that decides: a refusal or a retry over a success.
    if (answer === '' || outcome.kind !== 'delivered') answer = shortAnswer(got);
  }
  return { outcome: combineOutcomes(outcomes), answer };
};

/** Step 2 for one claimed request. */
const forwardOne = async (deps: ForwardDeps, item: DeletionItem, now: Date): Promise<Forwarded> => {
  const ids = allIds(item.person);
  const base = { destinationId: item.destinationId, erasureId: item.erasureId };
  let result: Awaited<ReturnType<typeof attempt>>;
  try {
    result = await attempt(deps, await deps.destinations.get(item.destinationId), item);
  } catch (e) {
    // Credentials unreadable, a codec that could not sign: retried like a network failure.
    result = { outcome: { kind: 'retry', reason: `error: ${(e as Error).message}` }, answer: '' };
  }
  const { outcome } = result;
  const why = outcome !== 'skipped' && outcome.kind !== 'delivered' ? outcome.reason : '';
  const answer = redactIds(result.answer || why, ids).slice(0, 200);
  if (outcome === 'skipped') {
    await deps.requests.settle(item, 'skipped', answer, now);
    return { ...base, outcome: 'skipped', answer };
  }
  if (outcome.kind === 'delivered') {
    await deps.requests.settle(item, 'delivered', answer, now);
    return { ...base, outcome: 'delivered', answer };
  }
  const first = item.firstAttemptAt ?? now.toISOString();
  const step = nextStep(outcome, item.attempts + 1, Date.parse(first), now.getTime(), deps.random);
  if (step.state === 'dead') {
    await deps.requests.settle(item, 'failed', answer, now);
    return { ...base, outcome: 'failed', answer };
  }
  await deps.requests.retry(item, first, new Date(step.dueAt), answer);
  return { ...base, outcome: 'retried', answer };
};

/** Step 2: forwards what is due, until nothing is or the deadline. */
export const forwardDue = async (deps: ForwardDeps, now: Date, deadline: number): Promise<Forwarded[]> => {
  const results: Forwarded[] = [];
  while (Date.now() < deadline) {
    const due = await deps.requests.due(now, FORWARD_ROUND);
    const lease = new Date(now.getTime() + LEASE_MS);
    const claimed: DeletionItem[] = [];
    for (const item of due) if (await deps.requests.claim(item, lease)) claimed.push(item);
    // One destination's requests in order (its pace); destinations side by side.
    const byDestination = new Map<string, DeletionItem[]>();
    for (const i of claimed)
      byDestination.set(i.destinationId, [...(byDestination.get(i.destinationId) ?? []), i]);
    const rounds = await Promise.all(
      [...byDestination.values()].map(async (items) => {
        const out: Forwarded[] = [];
        for (const item of items) out.push(await forwardOne(deps, item, now));
        return out;
      }),
    );
    results.push(...rounds.flat());
    if (claimed.length === 0 || due.length < FORWARD_ROUND) break;
  }
  return results;
};

/** Per destination and outcome, as metrics; what did not go through, logged (ids never: blanked). */
export const countForwarded = (results: readonly Forwarded[]): void => {
  const names = {
    delivered: 'ErasureForwarded',
    retried: 'ErasureForwardRetried',
    failed: 'ErasureForwardFailed',
    skipped: 'ErasureForwardSkipped',
  } as const;
  for (const r of results) {
    const m = metrics.singleMetric();
    m.addDimension('Destination', r.destinationId);
    m.addMetric(names[r.outcome], MetricUnit.Count, 1);
    if (r.outcome === 'failed') metrics.addMetric('ErasureForwardFailed', MetricUnit.Count, 1);
    if (r.outcome !== 'delivered')
      logger[r.outcome === 'failed' ? 'error' : 'warn']('erasure not forwarded', {
        destinationId: r.destinationId,
        erasureId: r.erasureId,
        outcome: r.outcome,
        answer: r.answer,
      });
  }
};
