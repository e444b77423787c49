/**
 * Segment rules and listings. `PUT /api/segments/rules/{ruleId}` (admin) validates a rule and, when
 * what it decides is new or changed, starts its backfill (the sweep applies it to everyone already
 * seen); `GET /api/segments/rules` lists rules with their backfill state. `GET /api/segments`:
 * tags in use with exact sizes; `GET /api/segments/{tag}/users`: members, paginated.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import type { BackfillJob } from '../adapters/backfill-jobs-repository';
import { logger } from '../adapters/observability';
import type { StoredRule } from '../adapters/rules-repository';
import { TagsRepository } from '../adapters/tags-repository';
import { inBatches } from '../adapters/tags-table';
import { Problem } from '../core/problem';
import { parseRuleBody } from '../core/rules';
import { ruleSource } from '../core/tags';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import { contract } from './segments.contract';

const tags = new TagsRepository(documentClient(), requireEnv(tables.tags.envVar));

/** Each listed segment's size is read from its counter shards (one batch read per page). */
const MAX_SEGMENTS_PAGE = 100;

const backfillView = (job: BackfillJob | undefined) =>
  job && {
    status: job.status,
    processed: job.processed,
    startedAt: job.startedAt,
    ...(job.finishedAt && { finishedAt: job.finishedAt }),
  };

const ruleView = (rule: StoredRule, job: BackfillJob | undefined) => ({
  ruleId: rule.ruleId,
  tag: rule.tag,
  when: rule.when,
  ...(rule.description !== undefined && { description: rule.description }),
  createdAt: rule.createdAt,
  updatedAt: rule.updatedAt,
  ...(job && { backfill: backfillView(job) }),
});

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const putRule: Handler<'putRule'> = async (request, { params: { ruleId } }) => {
  const body = parseRuleBody(request.body);
  const { rule, created, changed } = await tags.putRule(ruleId, body, request.receivedAt);
  const job = changed
    ? await tags.startBackfill(ruleId, rule.hash, request.receivedAt)
    : (await tags.backfills([ruleId])).get(ruleId);
  if (changed) logger.info('rule changed: backfill started', { ruleId, tag: rule.tag, created });
  return { status: created ? 201 : 200, body: ruleView(rule, job) };
};

const listRules: Handler<'listRules'> = async (_request, { query: { limit, cursor } }) => {
  const page = await tags.rulesPage(limit, cursor);
  const jobs = await tags.backfills(page.items.map((r) => r.ruleId));
  return {
    status: 200,
    body: {
      items: page.items.map((r) => ruleView(r, jobs.get(r.ruleId))),
      ...(page.nextCursor && { nextCursor: page.nextCursor }),
    },
  };
};

const listSegments: Handler<'listSegments'> = async (_request, { query: { limit, cursor } }) => {
  const page = await tags.segmentsPage(Math.min(limit, MAX_SEGMENTS_PAGE), cursor);
  return {
    status: 200,
    body: { items: page.items, ...(page.nextCursor && { nextCursor: page.nextCursor }) },
  };
};

const segmentUsers: Handler<'segmentUsers'> = async (
  _request,
  { params: { tag }, query: { limit, cursor } },
) => {
  if (!(await tags.segmentExists(tag))) throw new Problem(404, 'not_found', `No segment ${tag}`);
  const page = await tags.segmentMembers(tag, limit, cursor);
  return {
    status: 200,
    body: { tag, items: page.items, ...(page.nextCursor && { nextCursor: page.nextCursor }) },
  };
};

// ---- console (issue 18): delete a rule --------------------------------------------------------

/** Time kept back from the function's timeout to answer. */
const ANSWER_MARGIN_MS = 3_000;

/**
 * The rule's tag goes from every member it gave it to (other sources of the same tag stay), page
 * by page until done or the function's time runs short; only then the rule itself goes, so a rule
 * is never gone while people still carry its tag. Unfinished: 202, and DELETE again goes on
 * (removing, too, anyone the rule tagged meanwhile).
 */
const deleteRule: Handler<'deleteRule'> = async (request, { params: { ruleId } }) => {
  const rule = await tags.rules.getRule(ruleId);
  if (!rule) throw new Problem(404, 'not_found', `No rule ${ruleId}`);
  const source = ruleSource(ruleId);
  const deadline = Date.now() + request.context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
  let removedFrom = 0;
  let cursor: string | undefined;
  do {
    const page = await tags.segmentMembers(rule.tag, 100, cursor);
    const mine = page.items.filter((m) => m.sources.includes(source));
    await inBatches(mine, async (m) => {
      await tags.applyRuleOutcomes(
        m.userId,
        [{ rule: { ruleId, tag: rule.tag }, holds: false }],
        request.receivedAt,
      );
    });
    removedFrom += mine.length;
    cursor = page.nextCursor;
  } while (cursor && Date.now() < deadline);
  if (cursor) {
    logger.info('rule deletion continues', { ruleId, removedFrom });
    return {
      status: 202,
      body: { ruleId, tag: rule.tag, removedFrom, complete: false },
      headers: { 'retry-after': '0' },
    };
  }
  await tags.rules.deleteRule(ruleId);
  logger.info('rule deleted', { ruleId, tag: rule.tag, removedFrom });
  return { status: 200, body: { ruleId, tag: rule.tag, removedFrom, complete: true } };
};

export const handler = httpHandler({
  module: 'segments/segments',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { putRule, listRules, listSegments, segmentUsers, deleteRule },
});
