/**
 * Creates the HubSpot contact properties a `properties`-mode destination writes (the group, then
 * the properties in batches, one by one when a batch is refused because some exist), over HTTPS
 * through the vendor transport. The requests and the reading of answers are pure
 * (functions/core/destinations/hubspot-properties.ts); this only sends them in order.
 */
import type { VendorAnswer } from '../core/destinations/delivery';
import {
  batchCreateRequests,
  createPropertyRequest,
  HUBSPOT_PROPERTIES_PER_BATCH,
  hubspotPropertyDefinitions,
  type PropertiesStep,
  propertyGroupRequest,
  readPropertiesAnswer,
} from '../core/destinations/hubspot-properties';
import type { HttpRequest } from '../core/destinations/vendors';
import { sendRequest } from './vendor-transport';

export type Send = (request: HttpRequest) => Promise<VendorAnswer>;

/** The first step that is not `done` stops the setup; `done` when every property exists. */
export const ensureHubspotProperties = async (
  settings: { baseUrl?: unknown },
  accessToken: string,
  audiences: readonly string[],
  send: Send = sendRequest,
): Promise<Exclude<PropertiesStep, { kind: 'conflict' }>> => {
  const base = typeof settings.baseUrl === 'string' ? settings.baseUrl : undefined;
  const group = readPropertiesAnswer(await send(propertyGroupRequest(base, accessToken)));
  if (group.kind !== 'done') return group as Exclude<PropertiesStep, { kind: 'conflict' }>;
  const definitions = hubspotPropertyDefinitions(audiences);
  const batches = batchCreateRequests(base, accessToken, definitions);
  for (const [i, request] of batches.entries()) {
    const step = readPropertiesAnswer(await send(request), true);
    if (step.kind === 'done') continue;
    if (step.kind !== 'conflict') return step;
    const part = definitions.slice(i * HUBSPOT_PROPERTIES_PER_BATCH, (i + 1) * HUBSPOT_PROPERTIES_PER_BATCH);
    for (const definition of part) {
      const one = readPropertiesAnswer(await send(createPropertyRequest(base, accessToken, definition)));
      if (one.kind !== 'done') return one as Exclude<PropertiesStep, { kind: 'conflict' }>;
    }
  }
  return { kind: 'done' };
};
