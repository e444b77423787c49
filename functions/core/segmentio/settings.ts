/**
 * The settings document the Segment SDKs fetch at start (`/v1/projects/{writeKey}/settings`):
 * the Segment.io destination pointed back at this Pulse (`apiHost` is host + `/v1`, the SDKs
 * add `/b`, `/t`…), empty tracking plan and edge function, and telemetry off (sampleRate 0) so
 * no SDK reports to Segment's own metrics host.
 */
export const segmentSettings = (writeKey: string, host: string, protocol: 'http' | 'https') => ({
  integrations: {
    'Segment.io': {
      apiKey: writeKey,
      apiHost: `${host}/v1`,
      protocol,
      unbundledIntegrations: [],
      addBundledMetadata: true,
      maybeBundledConfigIds: {},
    },
  },
  plan: { track: { __default: { enabled: true, integrations: {} } }, identify: {}, group: {} },
  edgeFunction: {},
  middlewareSettings: {},
  enabledMiddleware: {},
  analyticsNextEnabled: true,
  legacyVideoPluginsEnabled: false,
  remotePlugins: [],
  metrics: { sampleRate: 0 },
});
