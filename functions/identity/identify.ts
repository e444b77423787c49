/**
 * `POST /api/identify` (write key): put an identify event on the stream; the consumer links and
 * merges. A link speaks for both ids, so it needs both sides: proof for the user id (a server key,
 * or a client key with the user's hash — identity verification) and consent from the anonymous
 * id, whose history moves to the user. A token for the user id alone links nothing.
 */
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { checkConsent } from '../core/consent';
import { identifyEvent } from '../core/identity';
import { accepted } from '../core/ingest';
import { Problem } from '../core/problem';
import { ingestDoor } from '../http/door';
import { httpHandler } from '../http/handler';
import { requireIdentity } from '../http/identity-proof';
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
      requireIdentity(request, {
        signingKey: await signingKey(),
        mode: settings.identityVerification,
        userId: body.userId,
        action: 'identify',
      });
      const event = identifyEvent(body, ctx);
      if (ctx.consent) {
        const token = body.consentToken ?? ctx.consent.headerToken;
        const { userId: _user, ...anonymousSide } = event;
        const verdict = checkConsent(
          ctx.consent.key,
          token,
          anonymousSide,
          'analytics',
          ctx.consent.verified,
        );
        if (!verdict.ok) throw new Problem(403, verdict.code, verdict.errors[0]?.message, verdict.errors);
      }
      await publishToStream([accepted(event)]);
      return { status: 202, body: { accepted: 1, eventIds: [event.eventId] } };
    },
  },
});
