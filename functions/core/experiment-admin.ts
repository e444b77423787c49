/**
 * What the console does to experiments besides a whole PUT: list them with filters, change the
 * status alone (start, stop, restart) under the same change rules as a PUT, and delete a draft
 * that never ran. Pure.
 */
import * as z from 'zod/mini';
import {
  applyUpdate,
  EXPERIMENT_STATUSES,
  type ExperimentBody,
  type ExperimentStatus,
  placementSchema,
  type StoredExperiment,
} from './experiments';
import { Problem } from './problem';
import './zod';

const statusParam = z.enum(EXPERIMENT_STATUSES);
z.globalRegistry.add(statusParam, {
  description: 'Only experiments with this status: draft, running or stopped',
});
const placementParam = z.optional(placementSchema);
z.globalRegistry.add(placementParam, { description: 'Only experiments on this placement (its exact id)' });

/** `GET /api/experiments` query. */
export const experimentListQuerySchema = z.object({
  status: z.optional(statusParam),
  placement: placementParam,
});
export type ExperimentListQuery = z.infer<typeof experimentListQuerySchema>;

/** The experiments a list query asks for, most recently changed first (then by id). */
export const filterExperiments = (
  all: readonly StoredExperiment[],
  q: ExperimentListQuery,
): StoredExperiment[] =>
  all
    .filter(
      (e) =>
        (q.status === undefined || e.status === q.status) &&
        (q.placement === undefined || e.placement === q.placement),
    )
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.experimentId.localeCompare(b.experimentId));

/** `PATCH /api/experiments/{id}` body: the status alone. */
export const experimentPatchSchema = z.strictObject({ status: statusParam });

/** A stored experiment's definition as a PUT body would carry it (every field it has). */
const bodyOf = (current: StoredExperiment): ExperimentBody => {
  const {
    experimentId: _id,
    version: _v,
    createdAt: _c,
    updatedAt: _u,
    startedAt: _s,
    stoppedAt: _t,
    ...body
  } = current;
  return body;
};

/** The definition with a new status, or the 409 a PUT of it would get. */
export const withStatus = (
  current: StoredExperiment,
  status: ExperimentStatus,
  runningOnPlacement: readonly Pick<StoredExperiment, 'experimentId'>[],
  now: Date,
): StoredExperiment =>
  applyUpdate(current.experimentId, current, { ...bodyOf(current), status }, runningOnPlacement, now);

/**
 * Only a draft that never ran can be deleted: one that ran has exposures, conversions and sticky
 * assignments that its id names, so it is stopped and kept (a 409 says so).
 */
export const assertDeletable = (experiment: StoredExperiment): void => {
  if (experiment.status !== 'draft' || experiment.startedAt)
    throw new Problem(
      409,
      'conflict',
      `Experiment ${experiment.experimentId} has run: its results and assignments are kept. Stop it instead of deleting it.`,
      [
        {
          path: 'status',
          message: `Only a draft that never ran can be deleted (status: ${experiment.status})`,
        },
      ],
    );
};
