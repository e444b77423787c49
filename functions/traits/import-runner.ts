/**
 * The bulk import runner, on a schedule (lib/schedules.ts `imports`): every job whose file was
 * uploaded runs until done or until the function's timeout nears (functions/traits/importer.ts);
 * the next run resumes each at its recorded byte offset and line.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { ImportTags } from '../adapters/import-tags';
import { ImportsRepository } from '../adapters/imports-repository';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { objectStoreFor } from '../adapters/object-store';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { signingKey } from '../adapters/signing-key';
import { TagsRepository } from '../adapters/tags-repository';
import { publishToStream } from '../http/stream-publish';
import { traitDoor } from '../http/trait-context';
import { runImport } from './importer';

const db = documentClient();
const imports = new ImportsRepository(db, requireEnv(tables.traits.envVar));
const traits = traitDoor();
// Manual tags go the tags routes' way: tag items, memberships, sizes and destinations' triggers.
const tags = new ImportTags({
  tags: new TagsRepository(db, requireEnv(tables.tags.envVar), membershipTriggersFromEnv(db)).personTagsStore,
  identity: new IdentityReader(db, requireEnv(tables.users.envVar)),
  consent: new ConsentRepository(db, requireEnv(tables.consent.envVar)),
  key: signingKey,
});

/** Left for the last chunk's stream write and checkpoint. */
const SAFETY_MS = 15_000;

const run = async (_event: unknown, context: Context) => {
  const store = objectStoreFor('imports');
  if (!store) throw new Error('No imports bucket in this function’s environment');
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS);
  const deps = { imports, store, traits: () => traits.context(), publish: publishToStream, tags };
  const results = [];
  for (const job of await imports.active()) {
    if (Date.now() >= deadline) break;
    try {
      const out = await runImport(deps, job, deadline);
      if (!out) continue;
      results.push(out);
      metrics.addMetric('ImportRowsApplied', MetricUnit.Count, out.applied - job.applied);
      metrics.addMetric('ImportRowsRejected', MetricUnit.Count, out.rejected - job.rejected);
      // Counts only: an import logs no value and no id.
      logger.info('import run', {
        importId: out.importId,
        status: out.status,
        nextLine: out.nextLine,
        nextByte: out.nextByte,
        rows: out.rows,
        applied: out.applied,
        rejected: out.rejected,
        ...(out.error && { error: out.error }),
      });
    } catch (error) {
      // The lease keeps the job until it lapses; the next run resumes at its last checkpoint.
      metrics.addMetric('ImportRunsFailed', MetricUnit.Count, 1);
      logger.error('import run failed', {
        importId: job.importId,
        error: (error as Error).name,
        message: (error as Error).message,
      });
    }
  }
  return results.map((j) => ({
    importId: j.importId,
    status: j.status,
    applied: j.applied,
    rejected: j.rejected,
  }));
};

export const handler = middy(run).use(injectLambdaContext(logger)).use(logMetrics(metrics));
