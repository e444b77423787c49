/**
 * Every handler module's contract, by module: what the OpenAPI document is built from. Its type
 * requires one contract per handler module of the route table, and each contract one operation
 * per route (functions/http/operations.ts): a route nobody serves fails typecheck here.
 */
import type { HandlerModule } from '../../lib/routes';
// Destinations (docs/destinations.md)
import { contract as alerts } from '../alerts/alerts.contract';
import { contract as analytics } from '../analytics/analytics.contract';
import { contract as archiveExports } from '../archive/exports.contract';
import { contract as consent } from '../consent/consent.contract';
import { contract as destinations } from '../destinations/destinations.contract';
import { contract as experiments } from '../experiments/experiments.contract';
// experiments v2: flags and the GrowthBook SDK payload
import { contract as features } from '../experiments/features.contract';
import type { Contract } from '../http/operations';
import { contract as identify } from '../identity/identify.contract';
import { contract as engagement } from '../ingest/engagement.contract';
import { contract as links } from '../links/links.contract';
import { contract as metrics } from '../metrics/metrics.contract';
// predictions (docs/models.md)
import { contract as models } from '../models/models.contract';
import { contract as privacy } from '../privacy/privacy.contract';
import { contract as promotion } from '../promotion/promotion.contract';
import { contract as qualityReplay } from '../quality/replay.contract';
import { contract as trackingPlan } from '../quality/tracking-plan.contract';
import { contract as segmentSettings } from '../segmentio/settings.contract';
import { contract as segmentTracking } from '../segmentio/tracking.contract';
import { contract as segments } from '../segments/segments.contract';
import { contract as sources } from '../sources/sources.contract';
import { contract as connectors } from '../traits/connectors.contract';
import { contract as imports } from '../traits/imports.contract';
import { contract as traits } from '../traits/traits.contract';
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
  // experiments v2: flags and the GrowthBook SDK payload
  'experiments/features': features,
  'segmentio/tracking': segmentTracking,
  'segmentio/settings': segmentSettings,
  // Archive (docs/archive.md)
  'analytics/analytics': analytics,
  'archive/exports': archiveExports,
  // Destinations (docs/destinations.md)
  'destinations/destinations': destinations,
  'alerts/alerts': alerts,
  // predictions (docs/models.md)
  'models/models': models,
  // Clean data at the edge (docs/data-quality.md).
  'quality/tracking-plan': trackingPlan,
  'quality/replay': qualityReplay,
  // traits (docs/traits.md)
  'traits/traits': traits,
  'traits/connectors': connectors,
  'traits/imports': imports,
  // console (issue 18)
  'service/docs': docs,
};
