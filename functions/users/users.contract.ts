/** What `users/users` takes and answers (see functions/http/operations.ts). */
import { personIdSchema } from '../core/events';
import { ok } from '../core/response-schemas';
import { tagSchema, tagsBodySchema } from '../core/tags';
import type { Contract } from '../http/operations';

const tagList = ok("The user's tags, with their sources");

export const contract = {
  getUser: { params: { userId: personIdSchema }, responses: ok('The profile') },
  // Tag lists over the limit answer 413 naming the limit (parseTagsBody), not a plain 400.
  putTags: {
    params: { userId: personIdSchema },
    body: tagsBodySchema,
    bodyValidation: 'handler',
    responses: tagList,
  },
  addTags: {
    params: { userId: personIdSchema },
    body: tagsBodySchema,
    bodyValidation: 'handler',
    responses: tagList,
  },
  deleteTag: { params: { userId: personIdSchema, tag: tagSchema }, responses: tagList },
} satisfies Contract<'users/users'>;
