/**
 * `POST /api/identify` (write key): put an identify event on the stream; the consumer links and
 * merges. A link speaks for both ids, so it needs both sides: proof for the user id (a server key,
 * or a client key with the user's hash — identity verification) and consent from the anonymous
 * id, whose history moves to the user. A token for the user id alone links nothing. Declared
 * traits ride on the event (functions/core/traits.ts); undeclared ones are named in the answer.
 */
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { checkConsent } from '../core/consent';
import { identifyEvent } from '../core/identity';
import { accepted } from '../core/ingest';
import { Problem } from '../core/problem';
import { checkTraits, hasTraits } from '../core/traits';
import { ingestDoor } from '../http/door';
import { httpHandler } from '../http/handler';
import { requireIdentity } from '../http/identity-proof';
import { publishToStream } from '../http/stream-publish';
import { countIgnoredTraits, traitDoor } from '../http/trait-context';
import { contract } from './identify.contract';

const door = ingestDoor('identify');
const traits = traitDoor();

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
      const checked = hasTraits(body.traits) ? checkTraits(body.traits, await traits.context()) : undefined;
      if (checked && !checked.ok)
        throw new Problem(400, 'validation_failed', 'Invalid traits', checked.errors);
      const event = identifyEvent(body, ctx, checked?.traits);
      const ignored = checked?.ignored ?? [];
      countIgnoredTraits(ignored.length);
      if (ctx.consent) {
        const token = body.consentToken ?? ctx.consent.headerToken;
        // A link needs the anonymous id's consent; traits alone, the user's.
        const { userId: _user, ...anonymousSide } = event;
        const verdict = checkConsent(
          ctx.consent.key,
          token,
          event.anonymousId === undefined ? event : anonymousSide,
          'analytics',
          ctx.consent.verified,
        );
        if (!verdict.ok) throw new Problem(403, verdict.code, verdict.errors[0]?.message, verdict.errors);
      }
      await publishToStream([accepted(event)]);
      return {
        status: 202,
        body: {
          accepted: 1,
          eventIds: [event.eventId],
          ...(ignored.length > 0 && { ignoredTraits: ignored }),
        },
      };
    },
  },
});
