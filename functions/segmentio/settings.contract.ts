/** What `segmentio/settings` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { ok, segmentSettingsSchema } from '../core/response-schemas';
import type { Contract } from '../http/operations';

export const contract = {
  segmentSettings: {
    // An unknown key is an unknown project: 404, as Segment's CDN answers.
    params: { writeKey: z.string().check(z.minLength(1), z.maxLength(256)) },
    notFoundParams: ['writeKey'],
    responses: ok('Settings pointing the SDK at this Pulse', segmentSettingsSchema),
  },
} satisfies Contract<'segmentio/settings'>;
