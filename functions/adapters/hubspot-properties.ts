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

export type Send = (request: HttpRequest, timeoutMs: number) => Promise<VendorAnswer>;

/**
 * All of it within the admin route's time (an HTTP function has 10 s): per request at most
 * `PER_REQUEST_MS`, and nothing sent once `budgetMs` has passed (a `failed`, saved with a warning).
 */
const PER_REQUEST_MS = 4_000;
type Result = Exclude<PropertiesStep, { kind: 'conflict' }>;

/** The first step that is not `done` stops the setup; `done` when every property exists. */
export const ensureHubspotProperties = async (
  settings: { baseUrl?: unknown },
  accessToken: string,
  audiences: readonly string[],
  send: Send = sendRequest,
  budgetMs = 7_000,
): Promise<Result> => {
  const deadline = Date.now() + budgetMs;
  const call = async (request: HttpRequest, batch = false): Promise<PropertiesStep> => {
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'failed', message: `HubSpot took more than ${budgetMs} ms in all` };
    return readPropertiesAnswer(await send(request, Math.min(left, PER_REQUEST_MS)), batch);
  };
  const base = typeof settings.baseUrl === 'string' ? settings.baseUrl : undefined;
  const group = await call(propertyGroupRequest(base, accessToken));
  if (group.kind !== 'done') return group as Result;
  const definitions = hubspotPropertyDefinitions(audiences);
  const batches = batchCreateRequests(base, accessToken, definitions);
  for (const [i, request] of batches.entries()) {
    const step = await call(request, true);
    if (step.kind === 'done') continue;
    if (step.kind !== 'conflict') return step;
    const part = definitions.slice(i * HUBSPOT_PROPERTIES_PER_BATCH, (i + 1) * HUBSPOT_PROPERTIES_PER_BATCH);
    for (const definition of part) {
      const one = await call(createPropertyRequest(base, accessToken, definition));
      if (one.kind !== 'done') return one as Result;
    }
  }
  return { kind: 'done' };
};
