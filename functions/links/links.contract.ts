/** What `links/links` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { linkBodySchema, MAX_LINK_TOKEN_LENGTH } from '../core/links';
import type { Contract } from '../http/operations';

export const contract = {
  createLink: { body: linkBodySchema, responses: { 201: { description: 'The signed link' } } },
  followLink: {
    // Anything but a token this deployment signed is no link at all: 404, never a redirect.
    params: { token: z.string().check(z.minLength(1), z.maxLength(MAX_LINK_TOKEN_LENGTH)) },
    notFoundParams: ['token'],
    responses: { 302: { description: 'To the signed URL; a click is recorded with stored consent' } },
  },
} satisfies Contract<'links/links'>;
