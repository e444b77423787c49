/** `POST /api/identify` (write key): put an identify event on the stream; the consumer links and merges. */
import { checkConsent } from '../core/consent';
import { identifyEvent } from '../core/identity';
import { accepted } from '../core/ingest';
import { Problem } from '../core/problem';
import { ingestDoor } from '../http/door';
import { httpHandler } from '../http/handler';
import { publishToStream } from '../http/stream-publish';
import { contract } from './identify.contract';

const door = ingestDoor('identify');

export const handler = httpHandler({
  module: 'identity/identify',
  contract,
  authenticators: { writeKey: door.writeKeys },
  handlers: {
    identify: async (request, { body }) => {
      const ctx = await door.context(request, 1);
      const event = identifyEvent(body, ctx);
      if (ctx.consent) {
        // Linking ids is processing personal data: it needs analytics consent from either id.
        const token = body.consentToken ?? ctx.consent.headerToken;
        const verdict = checkConsent(ctx.consent.key, token, event, 'analytics', ctx.consent.verified);
        if (!verdict.ok) throw new Problem(403, verdict.code, verdict.errors[0]?.message, verdict.errors);
      }
      await publishToStream([accepted(event)]);
      return { status: 202, body: { accepted: 1, eventIds: [event.eventId] } };
    },
  },
});
