/**
 * console (issue 18): the API described for people. One example per operation (its path
 * parameters, query, body and answer, as a client would send and read them), and the
 * descriptions of query parameters whose schemas carry none. The OpenAPI document (and so
 * `/api/docs` and docs/api.md) shows them; test/unit/openapi-examples.test.ts holds every route
 * to an example and every example to its operation's own contract. Pure.
 */
import type { RouteId } from '../../lib/routes';

export interface OperationExample {
  /** What the example shows. */
  summary: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A successful answer's body. */
  response?: unknown;
}

/** Query parameters described by name, where their schema has no description of its own. */
export const QUERY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  limit: 'Items per page: an integer 1..1000, default 50 (some lists serve fewer per page, as said above)',
  cursor: "The previous page's `nextCursor`, as it was: opaque, and valid for that list only",
  userId: 'The person: a user id (from your login), 1..256 printable characters',
  anonymousId: "The person when not logged in: the device's anonymous id",
  placement: 'Where the content is shown (e.g. `home-hero`): the placement of the experiments to choose from',
  channel:
    'The channel the request comes from (`web`, `ios`, `android`, `email`, …): experiments may target channels',
  deviceType: 'The device type (`mobile`, `tablet`, `desktop`, `tv`, `other`), for the exposure event',
  variant: 'QA only: force this variant (never stored, never counted)',
};

const at = '2026-06-01T10:00:00Z';
const consentToken = 'ct1.eyJzIjoidXNlci00MiJ9.sig';
const event = (type: string, extra: Record<string, unknown>) => ({
  type,
  eventId: 'b7c8e3f0-0d9a-4a55-9a4e-3a6f1e5c2b10',
  userId: 'user-42',
  campaignId: 'spring-sale',
  timestamp: at,
  deviceType: 'mobile',
  channel: 'ios',
  ...extra,
});
const experiment = {
  placement: 'home-hero',
  status: 'running',
  variants: [
    { id: 'control', weight: 50, content: { headline: 'Spring sale' } },
    { id: 'bold', weight: 50, content: { headline: 'Spring sale: 20 % off today' } },
  ],
  targeting: { channels: ['web', 'ios'] },
  coverage: 1,
  goal: { type: 'conversion' },
};
const storedExperiment = {
  ...experiment,
  experimentId: 'hero-test',
  version: 3,
  createdAt: '2026-05-30T09:00:00.000Z',
  updatedAt: '2026-06-01T08:00:00.000Z',
  startedAt: '2026-05-31T08:00:00.000Z',
};
// Shared by the examples of the routes merged after console.
const queryId = '3f2b6c1e-8a4d-4e9b-b1f7-2c5d9e0a7b64';
const importId = 'imp_k3V9xQ2mR7tLpW1a';
const importRequest = {
  format: 'csv',
  mapping: { userId: 'customer_id', traits: { plan: 'Plan', seats: 'Seats' }, tags: { add: 'Tags' } },
};
/** A job as GET /api/imports/{importId} answers it, before any row is read. */
const importJob = {
  importId,
  ...importRequest,
  createdAt: at,
  updatedAt: at,
  ...{ nextLine: 0, rows: 0, applied: 0, rejected: 0 },
  rejections: [],
};
const funnelStep = (
  step: number,
  type: string,
  people: number,
  conversionFromPrevious: number,
  conversionFromStart: number,
  medianSecondsFromPrevious: number | null,
) => ({ step, type, people, conversionFromPrevious, conversionFromStart, medianSecondsFromPrevious });
const funnelRequest = {
  analysis: 'funnel',
  from: '2026-05-01',
  to: '2026-05-31',
  steps: [{ type: 'view', campaignId: 'spring-sale' }, { type: 'click' }, { type: 'conversion' }],
  windowSeconds: 86_400,
  breakdown: 'channel',
};
const exportRequest = {
  from: '2026-05-01',
  to: '2026-05-31',
  types: ['click', 'conversion'],
  format: 'parquet',
};
const exportPrefix = 'exports/0d6f4a2e-5b1c-4f8e-9a37-c2e81b5d7f90/';
const model = {
  kind: 'propensity',
  target: { type: 'conversion' },
  horizonDays: 14,
  schedule: 'weekly',
  tags: [{ tag: 'likely_buyer', when: { percentileAtLeast: 90 } }],
  lambda: 1,
  description: 'Buyers of the next two weeks',
};
const modelDefinition = {
  name: 'buyers-14d',
  ...model,
  createdAt: '2026-05-18T09:00:00.000Z',
  updatedAt: '2026-05-18T09:00:00.000Z',
};
const lastRun = {
  runId: 'buyers-14d-2026-06-01T095810000Z-5c1e9a7b',
  startedAt: '2026-06-01T09:58:10.000Z',
  finishedAt: at,
  version: 3,
  published: true,
  reasons: [],
  scored: 48_210,
};
const modelVersion = {
  version: 3,
  kind: 'propensity',
  published: true,
  trainedAt: at,
  cutoff: '2026-05-17',
  horizonDays: 14,
  target: { type: 'conversion' },
  trainingRows: 38_400,
  heldOutRows: 9_600,
  trainingMs: 840,
  gate: { passed: true, reasons: [] },
  evaluation: {
    heldOutRows: 9_600,
    positives: 412,
    auc: { value: 0.812, baseline: 0.5 },
    logLoss: { value: 0.142, baseline: 0.176 },
    liftTop20: { value: 3.1, baseline: 1 },
    baseRate: 0.0429,
  },
  intercept: -3.41,
  lambda: 1,
  coefficients: [
    {
      feature: 'lifetime_conversions',
      coefficient: 0.92,
      standardError: 0.05,
      importance: 0.31,
      mean: 0.4,
      scale: 0.9,
    },
  ],
  importance: [{ feature: 'lifetime_conversions', importance: 0.31 }],
};
const flag = {
  defaultValue: false,
  rules: [{ targeting: { tagsAny: ['beta-tester'] }, rollout: 0.5, value: true }],
  enabled: true,
  description: 'The one-page checkout',
};
const storedFlag = { ...flag, key: 'new-checkout', version: 2, updatedAt: at };
const planEntry = {
  mode: 'block',
  schema: {
    type: 'object',
    required: ['plan'],
    properties: { plan: { enum: ['free', 'pro', 'team'] }, seats: { type: 'integer', minimum: 1 } },
  },
};
const trait = {
  type: 'string',
  pii: 'hash',
  purpose: 'marketing',
  description: 'E-mail, hashed: matches CRM contacts',
};
const connector = {
  kind: 'hubspot',
  properties: { lifecyclestage: 'lifecycle', plan_tier: 'plan' },
  match: { by: 'hashedTrait', property: 'email', trait: 'email' },
  everyMinutes: 15,
};
const destination = {
  type: 'mixpanel',
  enabled: true,
  filter: { types: ['conversion'], campaigns: ['spring-sale'] },
  settings: { projectId: '3141592', baseUrl: 'https://api-eu.mixpanel.com' },
  consentPurpose: 'analytics',
};
const storedDestination = {
  destinationId: 'mixpanel-eu',
  ...destination,
  audiences: [],
  credentialFields: ['serviceAccountUser', 'serviceAccountSecret'],
  createdAt: at,
  updatedAt: at,
};
const alert = {
  campaignId: 'spring-sale',
  metric: 'conversion',
  windowMinutes: 60,
  condition: { op: 'change', percent: 50, baselineWindows: 4 },
  enabled: true,
  cooldownMinutes: 120,
  description: 'Checkout broken?',
};
const segmentMessage = {
  type: 'track',
  event: 'Order Completed',
  userId: 'user-42',
  messageId: 'ajs-next-1717236000000-4f1c',
  timestamp: at,
  properties: { revenue: 42.5, currency: 'EUR', campaign: 'spring-sale' },
};
const segmentCalls: Record<string, Record<string, unknown>> = {
  track: segmentMessage,
  identify: {
    type: 'identify',
    userId: 'user-42',
    anonymousId: 'anon-7f3a',
    messageId: 'ajs-1',
    timestamp: at,
  },
  page: { type: 'page', name: 'Home', anonymousId: 'anon-7f3a', messageId: 'ajs-2', timestamp: at },
  screen: { type: 'screen', name: 'Offers', userId: 'user-42', messageId: 'ajs-3', timestamp: at },
  alias: { type: 'alias', previousId: 'anon-7f3a', userId: 'user-42', messageId: 'ajs-4', timestamp: at },
  group: { type: 'group', groupId: 'acme', userId: 'user-42', messageId: 'ajs-5', timestamp: at },
};
const short: Record<string, string> = {
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  a: 'alias',
  g: 'group',
};
const segmentExample = (call: string): OperationExample => {
  if (call === 'batch' || call === 'b')
    return {
      summary: 'Two Segment messages in one batch',
      body: { batch: [segmentMessage, segmentCalls.identify], writeKey: 'pk_live_3f9c…' },
      response: { success: true },
    };
  const type = short[call] ?? call;
  return { summary: `A Segment ${type} call`, body: segmentCalls[type], response: { success: true } };
};

export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  health: { summary: 'The API answers', response: { status: 'ok' } },
  healthDeep: {
    summary: 'Every component answers',
    response: { status: 'ok', checkedAt: at, components: { stream: 'ok', users: 'ok', metrics: 'ok' } },
  },
  trackBatch: {
    summary: 'A view and a purchase, sent together',
    body: {
      events: [
        event('view', { pageId: 'home', consentToken }),
        event('conversion', {
          eventId: 'c2',
          value: 42.5,
          currency: 'EUR',
          conversionType: 'purchase',
          consentToken,
        }),
      ],
    },
    response: { accepted: 2, eventIds: ['b7c8e3f0-0d9a-4a55-9a4e-3a6f1e5c2b10', 'c2'] },
  },
  trackOne: {
    summary: 'A click on a call to action',
    params: { type: 'click' },
    body: event('click', { elementId: 'hero-cta', consentToken }),
    response: { accepted: 1, eventIds: ['b7c8e3f0-0d9a-4a55-9a4e-3a6f1e5c2b10'] },
  },
  createSource: {
    summary: 'A key for the iOS app',
    body: { name: 'iOS app', channel: 'ios', kind: 'client', rateLimit: 200 },
    response: {
      sourceId: 'src_8d2f',
      name: 'iOS app',
      channel: 'ios',
      kind: 'client',
      rateLimit: 200,
      writeKey: 'pk_live_3f9c…',
    },
  },
  listSources: {
    summary: 'The first page of sources',
    query: { limit: '20' },
    response: {
      items: [
        {
          sourceId: 'src_8d2f',
          name: 'iOS app',
          channel: 'ios',
          kind: 'client',
          rateLimit: 200,
          createdAt: at,
        },
      ],
    },
  },
  deleteSource: { summary: 'Revoke a source', params: { sourceId: 'src_8d2f' } },
  listCampaignMetrics: {
    summary: 'Campaigns by last activity, with the last 7 days in Paris',
    query: { sort: 'lastActivity', days: '7', tz: 'Europe/Paris', limit: '25' },
    response: {
      window: { days: 7, tz: 'Europe/Paris', from: '2026-05-25T22:00:00.000Z' },
      items: [
        {
          campaignId: 'spring-sale',
          firstSeen: '2026-05-20T08:12:00.000Z',
          lastActivity: '2026-06-01T10:15:00.000Z',
          events: 1820,
          totals: { click: 410, view: 1200, share: 30, 'video-play': 120, conversion: 48, custom: 12 },
          byDeviceType: { mobile: 1300, desktop: 520 },
          byChannel: { ios: 900, web: 920 },
          conversionValue: { EUR: 2040.5 },
          uniqueUsers: 640,
          sparkline: [{ start: '2026-05-26T00:00:00+02:00', events: 210, uniqueUsers: 90 }],
        },
      ],
    },
  },
  campaignMetrics: {
    summary: 'One day by hour, in Kolkata',
    params: { campaignId: 'spring-sale' },
    query: { from: '2026-06-01', to: '2026-06-02', granularity: 'hour', tz: 'Asia/Kolkata' },
    response: {
      campaignId: 'spring-sale',
      from: '2026-05-31T18:30:00.000Z',
      to: '2026-06-01T18:30:00.000Z',
      granularity: 'hour',
      tz: 'Asia/Kolkata',
      events: 240,
      totals: { click: 60, view: 150, share: 5, 'video-play': 15, conversion: 9, custom: 1 },
      byDeviceType: { mobile: 180, desktop: 60 },
      byChannel: { ios: 120, web: 120 },
      conversionValue: { EUR: 380.2 },
      uniqueUsers: 97,
      rates: { clickThrough: 0.4, conversion: 0.15, conversionsPerPerson: 0.0928 },
      series: [{ start: '2026-06-01T00:00:00+05:30', counts: { click: 2, view: 5 }, uniqueUsers: 4 }],
    },
  },
  putConsent: {
    summary: 'Analytics and personalization granted, marketing refused',
    params: { userId: 'user-42' },
    body: {
      purposes: { analytics: true, marketing: false, personalization: true },
      policyVersion: '2026-01',
      source: 'cmp-banner',
    },
    response: {
      subject: 'user-42',
      consentToken,
      expiresAt: '2027-06-01T10:00:00.000Z',
      purposes: { analytics: true, marketing: false, personalization: true },
    },
  },
  getConsent: {
    summary: "A person's consent and its history",
    params: { userId: 'user-42' },
    response: {
      subject: 'user-42',
      current: { purposes: { analytics: true }, policyVersion: '2026-01', recordedAt: at },
      history: [
        { purposes: { analytics: true }, policyVersion: '2026-01', recordedAt: at, source: 'cmp-banner' },
      ],
    },
  },
  eraseUser: {
    summary: 'Erase a person everywhere',
    params: { userId: 'user-42' },
    response: {
      erased: true,
      ids: 2,
      deleted: 37,
      erasureId: '5d0e9a3c-8f6b-4c1e-9a57-2f3b1c0d4e5f',
      forwarded: { crm: 'requested', 'web-hook': 'requested' },
    },
  },
  exportUser: {
    summary: 'Everything held on a person',
    params: { userId: 'user-42' },
    response: {
      subject: 'user-42',
      ids: ['user-42', 'anon-7f3a'],
      exportedAt: at,
      stores: { users: [], consent: [] },
    },
  },
  // Erasure forwarded to vendors' deletion APIs (docs/destinations.md)
  getErasure: {
    summary: "An erasure's deletion requests, per destination",
    params: { erasureId: '5d0e9a3c-8f6b-4c1e-9a57-2f3b1c0d4e5f' },
    response: {
      erasureId: '5d0e9a3c-8f6b-4c1e-9a57-2f3b1c0d4e5f',
      destinations: [
        {
          destinationId: 'crm',
          type: 'braze',
          status: 'delivered',
          attempts: 1,
          requestedAt: at,
          settledAt: at,
          answer: '201 {"deleted":1,"message":"success"}',
        },
        {
          destinationId: 'web-hook',
          type: 'webhook',
          status: 'requested',
          attempts: 2,
          requestedAt: at,
          answer: '503 upstream unavailable',
        },
      ],
    },
  },
  identify: {
    summary: 'Link a device to the user who logged in on it',
    body: { anonymousId: 'anon-7f3a', userId: 'user-42', channel: 'web', timestamp: at, consentToken },
    response: { accepted: 1, eventIds: ['i-3c1d'] },
  },
  getUser: {
    summary: "A person's profile",
    params: { userId: 'user-42' },
    response: {
      userId: 'user-42',
      linkedIds: [{ anonymousId: 'anon-7f3a', linkedAt: at }],
      channels: ['web', 'ios'],
      firstSeen: '2026-05-20T08:12:00.000Z',
      lastSeen: at,
      counts: { click: 12, view: 40 },
      conversions: { count: 2, value: { EUR: 84.9 } },
      campaigns: [{ campaignId: 'spring-sale', lastSeen: at }],
      tags: [{ tag: 'vip', source: 'manual', setAt: at }],
      consent: [],
    },
  },
  putTags: {
    summary: 'Set the manual tags',
    params: { userId: 'user-42' },
    body: { tags: ['vip', 'beta-tester'] },
    response: { userId: 'user-42', tags: [{ tag: 'vip', source: 'manual', setAt: at }] },
  },
  addTags: {
    summary: 'Add a manual tag',
    params: { userId: 'user-42' },
    body: { tags: ['vip'] },
    response: { userId: 'user-42', tags: [{ tag: 'vip', source: 'manual', setAt: at }] },
  },
  deleteTag: { summary: 'Remove a manual tag', params: { userId: 'user-42', tag: 'vip' } },
  putRule: {
    summary: 'People who played 5 videos in the last week',
    params: { ruleId: 'frequent-viewers' },
    body: {
      tag: 'frequent_viewer',
      when: { type: 'video-play', atLeast: 5, withinDays: 7 },
      description: 'Binge watchers',
    },
  },
  listRules: { summary: 'The rules', query: { limit: '50' } },
  listSegments: {
    summary: 'Segments and their sizes',
    query: { limit: '100' },
    response: { items: [{ tag: 'vip', size: 120 }] },
  },
  segmentUsers: {
    summary: 'The first members of a segment',
    params: { tag: 'vip' },
    query: { limit: '20' },
    response: { tag: 'vip', items: [{ userId: 'user-42', sources: ['manual'] }] },
  },
  createLink: {
    summary: 'A tracked link for an e-mail',
    body: {
      url: 'https://shop.example.com/offer',
      campaignId: 'spring-sale',
      userId: 'user-42',
      expiresInDays: 30,
    },
  },
  followLink: {
    summary: 'Follow a tracked link (answers 302 to its URL)',
    params: { token: 'l1.eyJ1IjoiaHR0cHM6Ly9zaG9wIn0.sig' },
  },
  putExperiment: {
    summary: 'A two-variant test of the hero banner',
    params: { experimentId: 'hero-test' },
    body: experiment,
    response: storedExperiment,
  },
  getExperiment: {
    summary: 'An experiment',
    params: { experimentId: 'hero-test' },
    response: storedExperiment,
  },
  experimentResults: {
    summary: 'Results with the interval of the difference',
    params: { experimentId: 'hero-test' },
    response: {
      experimentId: 'hero-test',
      placement: 'home-hero',
      status: 'running',
      goal: { type: 'conversion' },
      startedAt: '2026-05-31T08:00:00.000Z',
      control: 'control',
      variants: [
        { id: 'control', weight: 50, exposures: 1000, conversions: 50, rate: 0.05 },
        {
          id: 'bold',
          weight: 50,
          exposures: 1010,
          conversions: 70,
          rate: 0.0693,
          lift: 0.386,
          difference: 0.0193,
          ci: { lower: 0.0, upper: 0.0386 },
          pValue: 0.06,
        },
      ],
      srm: { chiSquare: 0.05, df: 1, pValue: 0.82, flagged: false },
    },
  },
  promotion: {
    summary: 'What a person sees on the home hero',
    query: { userId: 'user-42', placement: 'home-hero', channel: 'web', deviceType: 'desktop' },
    response: {
      experimentId: 'hero-test',
      variant: 'bold',
      content: { headline: 'Spring sale: 20 % off today' },
    },
  },
  listExperiments: {
    summary: 'Running experiments on the home hero',
    query: { status: 'running', placement: 'home-hero' },
    response: { items: [storedExperiment] },
  },
  patchExperiment: {
    summary: 'Stop an experiment',
    params: { experimentId: 'hero-test' },
    body: { status: 'stopped' },
    response: { ...storedExperiment, status: 'stopped', stoppedAt: at, version: 4 },
  },
  deleteExperiment: { summary: 'Delete a draft', params: { experimentId: 'banner-draft' } },
  deleteRule: {
    summary: 'Delete a rule and its tag',
    params: { ruleId: 'frequent-viewers' },
    response: { ruleId: 'frequent-viewers', tag: 'frequent_viewer', removedFrom: 120, complete: true },
  },
  apiDocs: { summary: 'This page' },
  apiDocsAsset: { summary: "Swagger UI's script", params: { asset: 'swagger-ui-bundle.js' } },
  segmentSettings: {
    summary: 'Settings a Segment mobile SDK fetches',
    params: { writeKey: 'pk_live_3f9c' },
    response: {
      integrations: { 'Segment.io': { apiKey: 'pk_live_3f9c', apiHost: 'api.example.com/v1' } },
      plan: {},
      edgeFunction: {},
      metrics: { sampleRate: 0 },
    },
  },
  openapi: { summary: 'This document' },
  // Examples of the routes merged after console: archive, models, experiments v2, data quality,
  // traits and destinations (each checked against its own contract by the test).
  startAnalysis: {
    summary: 'A funnel from a campaign view to a purchase within a day, by channel',
    body: funnelRequest,
    response: { queryId, status: 'queued' },
  },
  getAnalysis: {
    summary: 'A funnel that succeeded',
    params: { queryId },
    response: {
      queryId,
      status: 'succeeded',
      request: funnelRequest,
      result: {
        analysis: 'funnel',
        steps: [
          funnelStep(1, 'view', 5000, 1, 1, null),
          funnelStep(2, 'click', 1200, 0.24, 0.24, 95),
          funnelStep(3, 'conversion', 180, 0.15, 0.036, 3600),
        ],
        breakdown: {
          by: 'channel',
          values: [
            {
              value: 'ios',
              steps: [
                funnelStep(1, 'view', 2600, 1, 1, null),
                funnelStep(2, 'click', 700, 0.2692, 0.2692, 80),
                funnelStep(3, 'conversion', 110, 0.1571, 0.0423, 3100),
              ],
            },
          ],
        },
      },
      bytesScanned: 48_213_504,
    },
  },
  createExport: {
    summary: "May's clicks and purchases as Parquet",
    body: exportRequest,
    response: { exportId: queryId, status: 'queued' },
  },
  getExport: {
    summary: 'An export that succeeded, with its files (links valid 6 hours)',
    params: { exportId: queryId },
    response: {
      exportId: queryId,
      status: 'succeeded',
      request: exportRequest,
      files: [
        {
          key: `${exportPrefix}part-00000.parquet`,
          bytes: 18_204_311,
          url: `https://pulse-exports.s3.eu-west-1.amazonaws.com/${exportPrefix}part-00000.parquet?X-Amz-Signature=…`,
        },
      ],
      expiresAt: '2026-06-01T16:00:00.000Z',
      bytesScanned: 96_427_008,
    },
  },
  putModel: {
    summary: 'Who is likely to buy in the next 14 days; tag the top decile',
    params: { name: 'buyers-14d' },
    body: model,
    response: modelDefinition,
  },
  listModels: {
    summary: 'The models, their published version and last run',
    response: {
      items: [
        {
          name: 'buyers-14d',
          definition: modelDefinition,
          publishedVersion: 3,
          lastRun,
          versions: [],
        },
      ],
    },
  },
  getModel: {
    summary: 'A propensity model explained: metrics beside their baselines, coefficients',
    params: { name: 'buyers-14d' },
    response: {
      name: 'buyers-14d',
      definition: modelDefinition,
      publishedVersion: 3,
      lastRun,
      published: modelVersion,
      versions: [
        {
          version: 3,
          trainedAt: at,
          published: true,
          trainingRows: 38_400,
          auc: 0.812,
          gate: modelVersion.gate,
        },
        {
          version: 2,
          trainedAt: '2026-05-25T10:00:00.000Z',
          published: false,
          trainingRows: 36_900,
          auc: 0.54,
          gate: { passed: false, reasons: ['AUC 0.540 below 0.6'] },
        },
      ],
    },
  },
  trainModel: {
    summary: 'Train now (AWS: the workflow starts it within 15 minutes)',
    params: { name: 'buyers-14d' },
    response: { requestedAt: at, startsBy: '2026-06-01T10:15:00.000Z' },
  },
  userScores: {
    summary: "A person's scores, and the features behind each",
    params: { userId: 'user-42' },
    response: {
      userId: 'user-42',
      scores: [
        {
          model: 'buyers-14d',
          kind: 'propensity',
          version: 3,
          score: 0.37,
          percentile: 94,
          tags: ['likely_buyer'],
          scoredAt: at,
          contributions: [
            { feature: 'lifetime_conversions', value: 2, contribution: 0.71 },
            { feature: 'active_days_7', value: 4, contribution: 0.38 },
            { feature: 'days_since_active', value: 0, contribution: 0.22 },
          ],
        },
      ],
    },
  },
  putFlag: {
    summary: 'The new checkout for beta testers, rolled out to half of them',
    params: { flagKey: 'new-checkout' },
    body: flag,
    response: storedFlag,
  },
  getFlag: {
    summary: 'A feature flag',
    params: { flagKey: 'new-checkout' },
    response: storedFlag,
  },
  sdkFeatures: {
    summary: 'The payload a GrowthBook SDK loads: a flag and a running experiment',
    params: { clientKey: 'pk_live_3f9c' },
    response: {
      features: {
        'new-checkout': {
          defaultValue: false,
          rules: [
            {
              condition: { tags: { $in: ['beta-tester'] } },
              id: 'new-checkout:0',
              force: true,
              coverage: 0.5,
              hashAttribute: 'id',
              hashVersion: 2,
              seed: 'new-checkout:0',
            },
          ],
        },
      },
      dateUpdated: at,
    },
  },
  putTrackingPlanEvent: {
    summary: 'Block "Signup Completed" events whose properties break their schema',
    params: { name: 'Signup Completed' },
    body: planEntry,
    response: { name: 'Signup Completed', ...planEntry, updatedAt: at },
  },
  listTrackingPlan: {
    summary: 'The tracking plan',
    response: { items: [{ name: 'Signup Completed', ...planEntry, updatedAt: at }] },
  },
  deleteTrackingPlanEvent: {
    summary: 'Stop checking an event',
    params: { name: 'Signup Completed' },
    response: { name: 'Signup Completed', ...planEntry, updatedAt: at },
  },
  trackingPlanViolations: {
    summary: 'Violations of the first week of June',
    query: { from: '2026-06-01', to: '2026-06-07' },
    response: {
      from: '2026-06-01',
      to: '2026-06-07',
      total: 42,
      items: [
        {
          event: 'Signup Completed',
          mode: 'block',
          keyword: 'type',
          schemaPath: '#/properties/seats/type',
          example: { path: '/seats', message: 'must be integer' },
          count: 42,
          lastSeen: at,
        },
      ],
    },
  },
  replayQuarantine: {
    summary: 'Replay what the tracking plan blocked on June 1st',
    body: { from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z', reason: 'tracking plan' },
    response: {
      from: '2026-06-01T00:00:00Z',
      to: '2026-06-02T00:00:00Z',
      scanned: 42,
      replayed: 40,
      stillRejected: 2,
      reasons: [
        {
          reason:
            'properties.seats: must be integer (tracking plan of "Signup Completed": #/properties/seats/type)',
          count: 2,
        },
      ],
      eventIds: ['b7c8e3f0-0d9a-4a55-9a4e-3a6f1e5c2b10'],
    },
  },
  putTrait: {
    summary: 'An e-mail trait, hashed at the door',
    params: { name: 'email' },
    body: trait,
    response: { name: 'email', ...trait },
  },
  listTraits: {
    summary: 'Declared traits',
    response: {
      items: [
        { name: 'email', ...trait },
        { name: 'plan', type: 'string', pii: 'none', purpose: 'personalization' },
        { name: 'seats', type: 'number', pii: 'none', purpose: 'personalization' },
      ],
    },
  },
  putConnector: {
    summary: 'Pull the HubSpot lifecycle stage and plan, matching people by hashed e-mail',
    params: { connectorId: 'hubspot-main' },
    body: connector,
    response: { connectorId: 'hubspot-main', ...connector, enabled: true, updatedAt: at },
  },
  connectorStatus: {
    summary: "A connector's cursor and last run",
    params: { connectorId: 'hubspot-main' },
    response: {
      connector: { connectorId: 'hubspot-main', ...connector, enabled: true, updatedAt: at },
      cursor: { modifiedSince: '2026-06-01T09:12:44.120Z', paging: false },
      running: false,
      lastRun: {
        status: 'ok',
        pulled: 5120,
        applied: 4980,
        unmatched: 140,
        rejected: 0,
        rejectedTraits: [],
        rateLimited: 2,
        startedAt: '2026-06-01T09:45:00.000Z',
        finishedAt: '2026-06-01T09:46:12.000Z',
      },
    },
  },
  createImport: {
    summary: 'Import plans, seats and manual tags from a CRM export (CSV)',
    body: importRequest,
    response: {
      ...importJob,
      status: 'awaiting_upload',
      upload: {
        url: `https://pulse-imports.s3.eu-west-1.amazonaws.com/uploads/${importId}.csv?X-Amz-Signature=…`,
        method: 'PUT',
        expiresAt: '2026-06-01T11:00:00.000Z',
      },
    },
  },
  getImport: {
    summary: 'A finished import and its rejected rows',
    params: { importId },
    response: {
      ...importJob,
      status: 'completed',
      updatedAt: '2026-06-01T10:04:30.000Z',
      startedAt: '2026-06-01T10:01:00.000Z',
      finishedAt: '2026-06-01T10:04:30.000Z',
      nextLine: 100_002,
      nextByte: 7_340_512,
      rows: 100_000,
      applied: 99_866,
      rejected: 134,
      rejections: [
        { line: 1002, reasons: ['traits.seats: Expected a finite number'] },
        { line: 2310, reasons: ['Tags: tag 2: Expected 1..64 characters of a-z, 0-9, _, : and -'] },
      ],
    },
  },
  putDestination: {
    summary: 'Send purchases to Mixpanel',
    params: { destinationId: 'mixpanel-eu' },
    body: { ...destination, credentials: { serviceAccountUser: 'pulse.sa', serviceAccountSecret: '…' } },
    response: storedDestination,
  },
  listDestinations: { summary: 'The destinations', response: { items: [storedDestination] } },
  getDestination: {
    summary: 'A destination (its credentials named, never shown)',
    params: { destinationId: 'mixpanel-eu' },
    response: storedDestination,
  },
  deleteDestination: { summary: 'Delete a destination', params: { destinationId: 'mixpanel-eu' } },
  destinationStatus: {
    summary: 'Delivery of a healthy destination',
    params: { destinationId: 'mixpanel-eu' },
    response: {
      destinationId: 'mixpanel-eu',
      enabled: true,
      delivered: 120_400,
      retrying: 3,
      dead: 0,
      consentDropped: 57,
      superseded: 4,
      lagSeconds: 0,
      lastDeliveredAt: at,
      consecutiveFailures: 0,
      lastErrors: [{ at: '2026-06-01T08:00:00.000Z', error: 'HTTP 429 from api-eu.mixpanel.com' }],
      replays: [],
    },
  },
  resumeDestination: {
    summary: 'Resume after the vendor recovered',
    params: { destinationId: 'mixpanel-eu' },
    response: { destinationId: 'mixpanel-eu', resumed: true },
  },
  replayDestination: {
    summary: "Send June 1st's events again",
    params: { destinationId: 'mixpanel-eu' },
    body: { from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' },
    response: {
      replayId: 'rp_01J0Z6',
      from: '2026-06-01T00:00:00Z',
      to: '2026-06-02T00:00:00Z',
      cursor: '2026-06-01T00:00:00Z',
      enqueued: 0,
      status: 'running',
      createdAt: at,
    },
  },
  putAlert: {
    summary: 'Alert when purchases drop by half against the last hour',
    params: { alertId: 'spring-sale-conversions' },
    body: alert,
    response: { alertId: 'spring-sale-conversions', ...alert, createdAt: at, updatedAt: at },
  },
  listAlerts: {
    summary: 'Alerts and their last evaluation',
    response: {
      items: [
        {
          alertId: 'spring-sale-conversions',
          ...alert,
          createdAt: at,
          updatedAt: at,
          state: { holding: false, lastEvaluatedAt: at, lastValue: 12, baseline: 11.5 },
        },
      ],
    },
  },
  deleteAlert: { summary: 'Delete an alert', params: { alertId: 'spring-sale-conversions' } },
  ...Object.fromEntries(
    ['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch', 'b', 't', 'p', 'i', 's', 'g', 'a'].map(
      (call) => [`segment_${call}`, segmentExample(call)],
    ),
  ),
} satisfies Partial<Record<RouteId, OperationExample>>;
