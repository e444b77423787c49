/**
 * A model run's steps, with their I/O: plan → extract (one call per Scan segment) → train
 * (evaluate and judge) → publish (only past the gate) → score (one call per segment) → finish.
 * In AWS each step is a Lambda task of the Step Functions workflow (lib/constructs/models.ts,
 * handler models/steps.ts); locally `runInProcess` calls the same functions one after another.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { modelWorkflow } from '../../lib/workflows';
import type { ConsentRepository } from '../adapters/consent-repository';
import type { ModelTags } from '../adapters/model-tags';
import type { ModelState, ModelsRepository, RunSummary } from '../adapters/models-repository';
import type { PeopleRepository } from '../adapters/people-repository';
import { type ModelVersion, SCHEDULE_HOURS } from '../core/models/definition';
import { dayNumber } from '../core/models/features';
import { rowsOf } from '../core/models/rows';
import { rescore } from '../core/models/scoring';
import { type RunRows, trainVersion } from '../core/models/train';
import type { PersonStats } from '../core/person';
import { Problem } from '../core/problem';

export interface PipelineDeps {
  models: ModelsRepository;
  people: PeopleRepository;
  modelTags: ModelTags;
  consent: Pick<ConsentRepository, 'currentFor'>;
  consentRequired: boolean;
  now: () => Date;
}

const PAGE = 500;
/** Person writes in flight per segment: the segments already run side by side. */
const SCORE_CONCURRENCY = 8;

export interface RunInput {
  name: string;
  runId: string;
  startedAt: string;
  requestedAt?: string;
}

/** Models due now: asked for, or their schedule has elapsed since the last run. */
export const plan = async (deps: PipelineDeps): Promise<RunInput[]> => {
  const now = deps.now();
  return (await deps.models.list()).filter((s) => isDue(s, now)).map((s) => runInput(s, now));
};

const isDue = (s: ModelState, now: Date): boolean => {
  if (s.requestedAt !== undefined) return true;
  const hours = SCHEDULE_HOURS[s.definition.schedule];
  if (hours === undefined) return false;
  const last = s.lastRun ? Date.parse(s.lastRun.startedAt) : Number.NEGATIVE_INFINITY;
  return now.getTime() - last >= hours * 3_600_000;
};

const runInput = (s: ModelState, now: Date): RunInput => ({
  name: s.definition.name,
  runId: `${s.definition.name}-${now.toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 8)}`,
  startedAt: now.toISOString(),
  ...(s.requestedAt !== undefined && { requestedAt: s.requestedAt }),
});

const definitionOf = async (deps: PipelineDeps, name: string) => {
  const state = await deps.models.get(name);
  if (!state) throw new Problem(404, 'not_found', `No model ${name}`);
  return state;
};

/** Every person of one segment, a page at a time. */
const eachPerson = async (
  deps: PipelineDeps,
  segment: number,
  totalSegments: number,
  visit: (people: { stats: PersonStats; version: number }[]) => Promise<void>,
) => {
  let cursor: string | undefined;
  do {
    const page = await deps.people.scanPersons(cursor, PAGE, { segment, totalSegments });
    await visit(page.people);
    cursor = page.next;
  } while (cursor !== undefined);
};

/** Extract: one segment's training and current rows, stored for the train step. */
export const extract = async (
  deps: PipelineDeps,
  input: RunInput & { segment: number; totalSegments: number },
): Promise<{ training: number; current: number }> => {
  const { definition } = await definitionOf(deps, input.name);
  const today = dayNumber(Date.parse(input.startedAt));
  const rows: RunRows = { training: [], current: [] };
  await eachPerson(deps, input.segment, input.totalSegments, async (people) => {
    for (const { stats } of people) {
      const r = rowsOf(definition, stats, today);
      if (r.training) rows.training.push(r.training);
      if (r.current) rows.current.push(r.current);
    }
  });
  await deps.models.putRows(input.runId, input.segment, rows, deps.now());
  return { training: rows.training.length, current: rows.current.length };
};

export interface TrainOutput {
  version: number;
  passed: boolean;
  reasons: string[];
}

/** Train, evaluate on the held-out rows and judge: the version is stored either way (for its metrics). */
export const train = async (deps: PipelineDeps, input: RunInput): Promise<TrainOutput> => {
  const { definition, lastVersion } = await definitionOf(deps, input.name);
  const rows = await deps.models.rows(input.runId);
  // Seeded by the model and the version it will be: the same rows split the same way again.
  const seed = seedOf(`${input.name}:${lastVersion + 1}`);
  const trained = trainVersion(definition, rows, { now: new Date(input.startedAt), seed });
  const stored = await deps.models.addVersion(trained);
  return { version: stored.version, passed: stored.gate.passed, reasons: stored.gate.reasons };
};

/** FNV-1a of the text. */
const seedOf = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

export const publish = async (deps: PipelineDeps, input: RunInput & { version: number }): Promise<void> => {
  await deps.models.publish(input.name, input.version);
};

/**
 * Score one segment with every published model (the consumer keeps them current between runs):
 * scores on the person item, tags with source `model:<name>`. People without the personalisation
 * purpose are not scored, and lose any score they had.
 */
export const score = async (
  deps: PipelineDeps,
  input: { segment: number; totalSegments: number },
): Promise<{ scored: number; cleared: number; conflicts: number }> => {
  const published = await deps.models.published();
  const out = { scored: 0, cleared: 0, conflicts: 0 };
  await eachPerson(deps, input.segment, input.totalSegments, async (people) => {
    const allowed = await personalisationAllowed(
      deps,
      people.map((p) => p.stats.personKey),
    );
    const limit = pLimit(SCORE_CONCURRENCY);
    await Promise.all(people.map((p) => limit(() => scoreOne(deps, published, p, allowed, out))));
  });
  return out;
};

/** One person: new scores saved if the item is unchanged since it was read, else read again (3 tries). */
const scoreOne = async (
  deps: PipelineDeps,
  published: Awaited<ReturnType<ModelsRepository['published']>>,
  person: { stats: PersonStats; version: number },
  allowed: ReadonlySet<string>,
  out: { scored: number; cleared: number; conflicts: number },
): Promise<void> => {
  let current: { stats: PersonStats; version: number } | undefined = person;
  // A person the consumer wrote meanwhile is read again (its own rescore may already be there).
  for (let attempt = 0; current && attempt < 3; attempt++) {
    const key: string = current.stats.personKey;
    const now = deps.now();
    const r = rescore(published, current.stats, now, allowed.has(key));
    if (!r.changed) return;
    if (await deps.people.saveScores(key, r.scores, current.version)) {
      await deps.modelTags.apply(key, r.changes, now);
      if (r.scores) out.scored++;
      else out.cleared++;
      return;
    }
    out.conflicts++;
    current = (await deps.people.load([key])).people.get(key);
  }
};

/** Person keys whose owner allows personalisation (all of them when consent is not required). */
export const personalisationAllowed = async (
  deps: Pick<PipelineDeps, 'consent' | 'consentRequired'>,
  personKeys: readonly string[],
): Promise<Set<string>> => {
  if (!deps.consentRequired) return new Set(personKeys);
  const current = await deps.consent.currentFor(personKeys);
  return new Set(personKeys.filter((k) => current.get(k)?.purposes.personalization === true));
};

export const finish = async (
  deps: PipelineDeps,
  input: RunInput & { version: number; published: boolean; reasons: string[]; scored: number },
): Promise<RunSummary> => {
  const summary: RunSummary = {
    runId: input.runId,
    startedAt: input.startedAt,
    finishedAt: deps.now().toISOString(),
    version: input.version,
    published: input.published,
    reasons: input.reasons,
    scored: input.scored,
  };
  await deps.models.finishRun(input.name, summary, input.requestedAt);
  return summary;
};

/** The whole run in this process (the local stack; tests): the same steps the workflow runs. */
export const runInProcess = async (
  deps: PipelineDeps,
  name: string,
  segments = modelWorkflow.segments,
): Promise<{ summary: RunSummary; version: ModelVersion | undefined }> => {
  const state = await definitionOf(deps, name);
  const input = runInput(state, deps.now());
  const segmentList = Array.from({ length: segments }, (_, segment) => ({
    ...input,
    segment,
    totalSegments: segments,
  }));
  await Promise.all(segmentList.map((s) => extract(deps, s)));
  const trained = await train(deps, input);
  let scored = 0;
  if (trained.passed) {
    await publish(deps, { ...input, version: trained.version });
    const results = await Promise.all(segmentList.map((s) => score(deps, s)));
    scored = results.reduce((n, r) => n + r.scored, 0);
  }
  const summary = await finish(deps, {
    ...input,
    version: trained.version,
    published: trained.passed,
    reasons: trained.reasons,
    scored,
  });
  return { summary, version: await deps.models.version(name, trained.version) };
};
