/**
 * Every handler module's contract, by module: what the OpenAPI document is built from. Its type
 * requires one contract per handler module of the route table, and each contract one operation
 * per route (functions/http/operations.ts): a route nobody serves fails typecheck here.
 */
import type { HandlerModule } from '../../lib/routes';
import { contract as consent } from '../consent/consent.contract';
import { contract as experiments } from '../experiments/experiments.contract';
import type { Contract } from '../http/operations';
import { contract as identify } from '../identity/identify.contract';
import { contract as engagement } from '../ingest/engagement.contract';
import { contract as links } from '../links/links.contract';
import { contract as metrics } from '../metrics/metrics.contract';
import { contract as privacy } from '../privacy/privacy.contract';
import { contract as promotion } from '../promotion/promotion.contract';
import { contract as segmentSettings } from '../segmentio/settings.contract';
import { contract as segmentTracking } from '../segmentio/tracking.contract';
import { contract as segments } from '../segments/segments.contract';
import { contract as sources } from '../sources/sources.contract';
import { contract as users } from '../users/users.contract';
// console (issue 18): the API docs page
import { contract as docs } from './docs.contract';
import { contract as health } from './health.contract';
import { contract as openapi } from './openapi.contract';

export const contracts: { readonly [M in HandlerModule]: Contract<M> } = {
  'service/health': health,
  'service/openapi': openapi,
  'ingest/engagement': engagement,
  'sources/sources': sources,
  'metrics/metrics': metrics,
  'consent/consent': consent,
  'privacy/privacy': privacy,
  'identity/identify': identify,
  'users/users': users,
  'segments/segments': segments,
  'links/links': links,
  'experiments/experiments': experiments,
  'promotion/promotion': promotion,
  'segmentio/tracking': segmentTracking,
  'segmentio/settings': segmentSettings,
  // console (issue 18)
  'service/docs': docs,
};
