/** What `traits/traits` takes and answers (see functions/http/operations.ts). */
import { ok } from '../core/response-schemas';
import { traitDeclarationSchema, traitNameSchema } from '../core/traits';
import type { Contract } from '../http/operations';

export const contract = {
  putTrait: {
    params: { name: traitNameSchema },
    body: traitDeclarationSchema,
    responses: {
      200: { description: 'The declaration (replaced)' },
      201: { description: 'The declaration (created): doors accept the trait from now on' },
    },
  },
  listTraits: { responses: ok('Every declared trait') },
} satisfies Contract<'traits/traits'>;
