/**
 * The CRM sync, run on a schedule (lib/schedules.ts `crm-sync`): every connector that is due
 * pulls the contacts changed since its cursor into traits (functions/traits/crm-syncer.ts), and
 * stops before the function's timeout; the next run resumes from the cursor.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConnectorsRepository } from '../adapters/connectors-repository';
import { crmToken } from '../adapters/crm-secret';
import { HubspotClient } from '../adapters/hubspot-client';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { signingKey } from '../adapters/signing-key';
import { TraitDeclarationsRepository } from '../adapters/trait-declarations-repository';
import { publishToStream } from '../http/stream-publish';
import { runConnectors } from './crm-syncer';

const db = documentClient();
const traitsTable = requireEnv(tables.traits.envVar);
const declarations = new TraitDeclarationsRepository(db, traitsTable);
const people = new PeopleRepository(db, requireEnv(tables.users.envVar));
const deps = {
  connectors: new ConnectorsRepository(db, traitsTable),
  declarations: () => declarations.byName(),
  findByMatch: (trait: string, hash: string) => people.findByMatch(trait, hash),
  publish: publishToStream,
  token: crmToken,
  signingKey,
  client: (token: string, options: { deadline: number; onRateLimited: () => void }) =>
    new HubspotClient(token, options),
};

/** Left for the last page's stream write and checkpoint. */
const SAFETY_MS = 15_000;

const scheduledTime = (event: unknown): Date => {
  const time = (event as { time?: unknown } | undefined)?.time;
  const ms = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  return Number.isNaN(ms) ? new Date() : new Date(ms);
};

const sync = async (event: unknown, context: Context) => {
  const now = scheduledTime(event);
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const reports = await runConnectors(deps, now, deadline);
  for (const r of reports) {
    metrics.addMetric('CrmContactsPulled', MetricUnit.Count, r.pulled);
    metrics.addMetric('CrmTraitUpdates', MetricUnit.Count, r.applied);
    metrics.addMetric('CrmContactsRejected', MetricUnit.Count, r.rejected);
    if (r.status !== 'ok') metrics.addMetric('CrmRunsFailed', MetricUnit.Count, 1);
    // Counts and trait names only: a connector run logs no value and no id.
    if (r.status === 'failed') logger.warn('crm connector run', { ...r });
    else logger.info('crm connector run', { ...r });
  }
  return reports;
};

export const handler = middy(sync).use(injectLambdaContext(logger)).use(logMetrics(metrics));
