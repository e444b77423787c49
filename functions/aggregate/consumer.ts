/**
 * The stream consumer: applies each batch to the read models exactly once (apply-batch.ts)
 * and answers Lambda with a partial batch response naming the lowest record not applied.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { ConsentRepository } from '../adapters/consent-repository';
import { ExperimentsRepository } from '../adapters/experiments-repository';
import { IdentityRepository } from '../adapters/identity-repository';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { MetricsRepository } from '../adapters/metrics-repository';
import { ModelTags } from '../adapters/model-tags';
import { ModelsRepository } from '../adapters/models-repository';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { PeopleRepository } from '../adapters/people-repository';
import { QuarantineRepository } from '../adapters/quarantine-repository';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { allMetrics } from '../core/experiment-design';
import { rescore, type TagChange } from '../core/models/scoring';
import type { PersonStats } from '../core/person';
import { evaluateRules } from '../core/rules';
import { applyBatch } from './apply-batch';

const db = documentClient();
const deps = {
  people: new PeopleRepository(db, requireEnv(tables.users.envVar)),
  counters: new MetricsRepository(db, requireEnv(tables.metrics.envVar)),
  quarantine: new QuarantineRepository(db, requireEnv(tables.quarantine.envVar)),
};
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const experiments = new ExperimentsRepository(db, requireEnv(tables.experiments.envVar));
const identity = new IdentityRepository(db, requireEnv(tables.users.envVar), experiments);
// Goals are also carried by each exposure; these cover exposures recorded before that.
const goals = new Cached(
  async () => new Map((await experiments.list()).map((x) => [x.experimentId, x.goal] as const)),
  30_000,
);
// experiments v2: each experiment's metrics, frozen once it starts (like its goal).
const experimentMetrics = new Cached(
  async () => new Map((await experiments.list()).map((x) => [x.experimentId, allMetrics(x)] as const)),
  30_000,
);
const tags = new TagsRepository(db, requireEnv(tables.tags.envVar), membershipTriggersFromEnv(db));

/** Segment rules, cached briefly: a changed rule reaches existing users through its backfill. */
const rules = new Cached(() => tags.listRules(), 30_000);

// ---- predictions (docs/models.md): a changed person is re-scored by the published models ----
const models = new ModelsRepository(db, requireEnv(tables.models.envVar));
/** Published models, cached briefly: a new version reaches the people it scored at once anyway. */
// Published models, cached like experiment definitions (tests set PULSE_EXPERIMENT_CACHE_MS=0).
const publishedModels = new Cached(() => models.published(), settings.experimentCacheMs);
const modelTags = new ModelTags(tags);
/** Model tag changes of persons rescored in this batch, applied once the person is saved. */
const pendingTagChanges = new Map<string, TagChange[]>();
const rescorePerson = async (stats: PersonStats, now: Date): Promise<PersonStats> => {
  pendingTagChanges.delete(stats.personKey);
  const published = await publishedModels.get();
  if (published.length === 0 && !stats.scores) return stats;
  // Scoring is personalisation: without that purpose a person keeps no score (docs/models.md).
  const allowed =
    !settings.consentRequired ||
    (await consent.currentFor([stats.personKey])).get(stats.personKey)?.purposes.personalization === true;
  const r = rescore(published, stats, now, allowed);
  if (!r.changed) return stats;
  if (r.changes.length > 0) pendingTagChanges.set(stats.personKey, r.changes);
  const { scores: _previous, ...rest } = stats;
  return r.scores ? { ...rest, scores: r.scores } : rest;
};
const applyModelTags = async (personKey: string, now: Date): Promise<number> => {
  const changes = pendingTagChanges.get(personKey);
  if (!changes) return 0;
  pendingTagChanges.delete(personKey);
  return modelTags.apply(personKey, changes, now);
};

/** Rules re-evaluated as events arrive: the rule tags a person gains and loses. */
const onPersonChanged = async (personKey: string, stats: PersonStats, now: Date): Promise<number> => {
  const modelWrites = await applyModelTags(personKey, now);
  const current = await rules.get();
  if (current.length === 0) return modelWrites;
  // A profile merged into its user keeps no rule tags: the user's profile carries them now.
  const outcomes = stats.mergedInto
    ? current.map((rule) => ({ rule, holds: false }))
    : evaluateRules(current, stats, now);
  const applied = await tags.applyRuleOutcomes(personKey, outcomes, now);
  return modelWrites + applied.added + applied.removed + applied.checksWritten;
};

const consume = async (event: KinesisStreamEvent, _context: Context): Promise<KinesisStreamBatchResponse> => {
  // Consent is read per batch, never cached: a withdrawal takes effect at once.
  const key = await signingKey();
  const consentGate = { consent, key, required: settings.consentRequired };
  const outcome = await applyBatch(event.Records, {
    ...deps,
    consentGate,
    idKey: key,
    identity,
    goals: () => goals.get(),
    experimentMetrics: () => experimentMetrics.get(),
    onPersonChanged,
    rescore: rescorePerson,
    // Clean data at the edge: ids sending faster than a person are flagged bots.
    bots: { maxEventsPerMinute: settings.botMaxEventsPerMinute },
  });
  metrics.addMetric('ConsentDropped', MetricUnit.Count, outcome.consentDropped);
  metrics.addMetric('EventsApplied', MetricUnit.Count, outcome.applied);
  metrics.addMetric('DuplicatesDropped', MetricUnit.Count, outcome.duplicates);
  metrics.addMetric('RecordsQuarantined', MetricUnit.Count, outcome.quarantined);
  metrics.addMetric('WriteUnits', MetricUnit.Count, outcome.writeUnits);
  metrics.addMetric('RecordAge', MetricUnit.Milliseconds, outcome.maxRecordAgeMs);
  // Every batch is counted by the metrics above; a log line at INFO only when it has something to
  // look at (CloudWatch bills log bytes per batch), the routine ones at DEBUG.
  const notable =
    outcome.failedFrom !== undefined ||
    outcome.quarantined > 0 ||
    outcome.consentDropped > 0 ||
    Object.keys(outcome.errors).length > 0;
  if (notable) logger.info('batch applied', { records: event.Records.length, ...outcome });
  else logger.debug('batch applied', { records: event.Records.length, ...outcome });
  return { batchItemFailures: outcome.failedFrom ? [{ itemIdentifier: outcome.failedFrom }] : [] };
};

export const handler = middy(consume).use(injectLambdaContext(logger)).use(logMetrics(metrics));
