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
    response: { erased: true, ids: 2, deleted: 37 },
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
  ...Object.fromEntries(
    ['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch', 'b', 't', 'p', 'i', 's', 'g', 'a'].map(
      (call) => [`segment_${call}`, segmentExample(call)],
    ),
  ),
} satisfies Partial<Record<RouteId, OperationExample>>;
