/** What `segments/segments` takes and answers (see functions/http/operations.ts). */
import { pageQuerySchema } from '../core/query';
import { ok } from '../core/response-schemas';
import { ruleBodySchema, ruleIdSchema } from '../core/rules';
import { tagSchema } from '../core/tags';
import type { Contract } from '../http/operations';

export const contract = {
  putRule: {
    params: { ruleId: ruleIdSchema },
    body: ruleBodySchema,
    // parseRuleBody names paths inside the rule (`when.all.1.withinDays`); a union's errors would not.
    bodyValidation: 'handler',
    responses: {
      200: { description: 'The rule (replaced); a changed rule starts a backfill over existing users' },
      201: { description: 'The rule (created); a backfill applies it to existing users' },
    },
  },
  listRules: { query: pageQuerySchema, responses: ok('Segment rules') },
  listSegments: { query: pageQuerySchema, responses: ok('Tags with their exact sizes') },
  segmentUsers: {
    params: { tag: tagSchema },
    query: pageQuerySchema,
    responses: ok('Members of the segment'),
  },
  // console (issue 18)
  deleteRule: {
    params: { ruleId: ruleIdSchema },
    responses: {
      200: {
        description: 'Deleted: the rule, its backfill, and its tag on every member (`removedFrom` of them)',
      },
      202: {
        description:
          'Not done within one request: `removedFrom` members lost the tag, the rule still exists; DELETE again goes on',
      },
    },
  },
} satisfies Contract<'segments/segments'>;
