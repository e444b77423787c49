/**
 * The scheduled work of segments, with its dependencies passed in (functions/segments/sweep.ts
 * is the Lambda around it):
 *
 *  - due checks: rules whose outcome for a person changes with time alone (a window passing,
 *    inactivity) left a check in the sparse `byNextCheck` index; each run queries every shard
 *    for checks due by now, re-evaluates those persons and applies the outcomes — no scan;
 *  - backfills: a new or changed rule is applied to everyone already seen by a parallel Scan of
 *    the users table (one cursor per segment, stored in the job), for as long as the run has
 *    time, resuming where each segment stopped.
 *
 * The consumer may write a person's stats while this runs. Outcomes are applied from the stats
 * read, then the versions are read again: a person whose stats moved meanwhile is evaluated
 * again, so the last outcome written is from the newest stats whoever wrote it.
 */
import type { IdentityReader } from '../adapters/identity-reader';
import type { PeopleRepository } from '../adapters/people-repository';
import type { StoredRule } from '../adapters/rules-repository';
import type { TagsRepository } from '../adapters/tags-repository';
import { CHECK_SHARDS } from '../adapters/tags-table';
import { evaluateRule, type RuleOutcome, type RuleRef } from '../core/rules';

export interface SweepDeps {
  tags: TagsRepository;
  people: PeopleRepository;
  identity: IdentityReader;
  /** Due checks read per shard and run (the rest wait for the next run). */
  duePerShard?: number;
  /** Users-table items per backfill page, and pages per segment and run (default: until the deadline). */
  pageSize?: number;
  pagesPerRun?: number;
  /** Segments of a new backfill's parallel Scan (BACKFILL_SEGMENTS). */
  backfillSegments?: number;
}

export interface SweepResult {
  due: { checks: number; persons: number };
  backfill: { jobs: number; persons: number; finished: string[] };
}

const RECHECK_ROUNDS = 3;

/** Evaluate `rules` for these persons from their stored stats and apply the outcomes. */
export const evaluatePersons = async (
  deps: SweepDeps,
  rulesByPerson: ReadonlyMap<string, readonly (StoredRule | RuleRef)[]>,
  now: Date,
): Promise<void> => {
  let pending = [...rulesByPerson.keys()];
  for (let round = 0; round < RECHECK_ROUNDS && pending.length > 0; round++) {
    const [{ people }, aliases] = await Promise.all([
      deps.people.load(pending),
      deps.identity.resolveMany(pending),
    ]);
    await Promise.all(
      pending.map(async (personKey) => {
        const stored = people.get(personKey);
        // A merged anonymous id is no person of its own any more (its user carries the tags), and
        // a person without stats (erased, expired) is in no rule's segment.
        const gone =
          !stored || stored.version === 0 || aliases.has(personKey) || stored.stats.mergedInto !== undefined;
        const outcomes = (rulesByPerson.get(personKey) ?? []).map((rule): RuleOutcome => {
          const ref = { ruleId: rule.ruleId, tag: rule.tag };
          if (gone || !('when' in rule)) return { rule: ref, holds: false };
          return { rule: ref, ...evaluateRule(rule, stored.stats, now) };
        });
        await deps.tags.applyRuleOutcomes(personKey, outcomes, now);
      }),
    );
    const { people: after } = await deps.people.load(pending);
    pending = pending.filter((k) => after.get(k)?.version !== people.get(k)?.version);
  }
};

/** Re-evaluate every check due by `now`, shard by shard. */
export const sweepDueChecks = async (deps: SweepDeps, now: Date): Promise<SweepResult['due']> => {
  const rules = new Map((await deps.tags.listRules()).map((r) => [r.ruleId, r]));
  const limit = deps.duePerShard ?? 1000;
  const result = { checks: 0, persons: 0 };
  await Promise.all(
    Array.from({ length: CHECK_SHARDS }, async (_, s) => {
      let start: Record<string, unknown> | undefined;
      let read = 0;
      do {
        const page = await deps.tags.dueChecks(`s${s}`, now, Math.min(100, limit - read), start);
        read += page.items.length;
        start = page.lastKey;
        const byPerson = new Map<string, (StoredRule | RuleRef)[]>();
        for (const check of page.items) {
          // A check of a rule that no longer exists: its tags go (no tag name needed for that).
          const rule = rules.get(check.ruleId) ?? { ruleId: check.ruleId, tag: '' };
          byPerson.set(check.personKey, [...(byPerson.get(check.personKey) ?? []), rule]);
        }
        await evaluatePersons(deps, byPerson, now);
        result.checks += page.items.length;
        result.persons += byPerson.size;
      } while (start && read < limit);
    }),
  );
  return result;
};

/**
 * Segments of a backfill's parallel Scan: each is paged on its own, all at once, with its
 * cursor in the job. At about a page of 200 persons per segment every second or two, 16
 * segments take a million people in minutes. A Step Functions distributed map would fan out
 * further (a Lambda per segment), at the price of a state machine the local stack would have to
 * emulate; one function scanning 16 segments within its time is enough until a rule must
 * reach tens of millions of people quickly.
 */
export const BACKFILL_SEGMENTS = 16;

/**
 * Move every open backfill job on, all its scan segments in parallel, until `deadline` (epoch
 * ms) or, without a deadline, `pagesPerRun` pages per segment.
 */
export const advanceBackfills = async (
  deps: SweepDeps,
  now: Date,
  deadline = Number.POSITIVE_INFINITY,
): Promise<SweepResult['backfill']> => {
  const jobs = await deps.tags.openBackfills();
  const result: SweepResult['backfill'] = { jobs: jobs.length, persons: 0, finished: [] };
  if (jobs.length === 0) return result;
  const rules = new Map((await deps.tags.listRules()).map((r) => [r.ruleId, r]));
  const pages = deps.pagesPerRun ?? (Number.isFinite(deadline) ? Number.POSITIVE_INFINITY : 20);
  for (const job of jobs) {
    const rule = rules.get(job.ruleId);
    // A job of an older version of the rule: the newer PUT has replaced it, or is about to.
    if (!rule || rule.hash !== job.ruleHash) continue;
    const segments = await deps.tags.openBackfillSegments(
      job,
      deps.backfillSegments ?? BACKFILL_SEGMENTS,
      now,
    );
    if (!segments) continue;
    const totalSegments = segments.length;
    await Promise.all(
      segments.map(async ({ segment, cursor: start, done }) => {
        let cursor = start;
        for (let page = 0; !done && page < pages && Date.now() < deadline; page++) {
          const { personKeys, next } = await deps.people.scanPersonKeys(cursor, deps.pageSize ?? 200, {
            segment,
            totalSegments,
          });
          await evaluatePersons(deps, new Map(personKeys.map((k) => [k, [rule]])), now);
          result.persons += personKeys.length;
          const moved = await deps.tags.advanceBackfillSegment(
            job,
            segment,
            cursor,
            next,
            personKeys.length,
            now,
          );
          // Another run moved this segment on, or a new version replaced the job: leave it to them.
          if (!moved) return;
          if (moved.jobDone) result.finished.push(job.ruleId);
          if (next === undefined) return;
          cursor = next;
        }
      }),
    );
  }
  return result;
};

/** One scheduled run: due checks first (they are late already), then backfills. */
export const runSweep = async (deps: SweepDeps, now: Date, deadline?: number): Promise<SweepResult> => ({
  due: await sweepDueChecks(deps, now),
  backfill: await advanceBackfills(deps, now, deadline),
});
