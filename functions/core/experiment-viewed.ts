/**
 * GrowthBook's "Experiment Viewed" tracking call as an exposure. Pure.
 *
 * GrowthBook's SDKs evaluate experiments on the device and report each assignment through the
 * app's tracking callback, conventionally `track("Experiment Viewed", {experimentId,
 * variationId})` (the Segment and RudderStack integrations; `experiment_id`/`variation_id` in
 * snake case for others). Sent through `/v1/track` or `/api/engagement/custom`, such an event
 * becomes the same exposure `GET /api/promotion` logs: type `exposure`, the event id fixed per
 * experiment and person (`exposureEventId`), so a person counts once whichever door saw them,
 * however often the SDK reports.
 */
import type { CanonicalEvent } from './events';
import { experimentIdSchema, exposureEventId, variantIdSchema } from './experiments';

const NAME = 'experiment viewed';

const normalised = (name: unknown): string | undefined =>
  typeof name === 'string' ? name.trim().toLowerCase().replaceAll('_', ' ') : undefined;

const firstString = (...values: unknown[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v !== '');

/** The exposure an "Experiment Viewed" event stands for; undefined for any other event. */
export const experimentViewed = (event: CanonicalEvent): CanonicalEvent | undefined => {
  if (event.type !== 'custom' || normalised(event.data.name) !== NAME) return undefined;
  const p = event.properties;
  const experimentId = firstString(event.experimentId, p.experimentId, p.experiment_id);
  const variant = firstString(event.variant, p.variationId, p.variation_id, p.variantId, p.variant);
  // Ids that could never name an experiment or variant leave the event an ordinary custom one.
  if (!experimentIdSchema.safeParse(experimentId).success || !variantIdSchema.safeParse(variant).success)
    return undefined;
  const { properties: _dropped, campaignId: _none, ...rest } = event;
  return {
    ...rest,
    eventId: exposureEventId(experimentId as string, event.personKey),
    type: 'exposure',
    experimentId: experimentId as string,
    variant: variant as string,
    data: { via: 'sdk' },
    properties: {},
  };
};
