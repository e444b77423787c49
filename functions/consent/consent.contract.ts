/** What `consent/consent` takes and answers (see functions/http/operations.ts). */
import { consentBodySchema } from '../core/consent';
import { personIdSchema } from '../core/events';
import { consentAnswer, ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  putConsent: {
    params: { userId: personIdSchema },
    body: consentBodySchema,
    responses: ok('Consent recorded; the token to send with events', consentAnswer),
  },
  getConsent: { params: { userId: personIdSchema }, responses: ok('Current consent and its history') },
} satisfies Contract<'consent/consent'>;
