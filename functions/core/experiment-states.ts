/**
 * Bounds on a person's experiment state (`PersonStats.experiments`), so the person item stays far
 * from DynamoDB's 400 KB however many experiments a person meets. Pure.
 *
 * A state is needed whole only while it can change or be replayed: until it converts (its goal
 * decides the conversion), and for DEDUP_WINDOW_DAYS after (a redelivered record re-derives its
 * exposure and conversion effects from the tags the state keeps). After that, only the fact that
 * the person was exposed matters — an exposure counts once per person — and that is kept as
 * 8 bytes of a hash of the experiment id in `settled`. The rules, applied after every fold:
 *   1. a converted state settles once its conversion is older than the dedup window;
 *   2. past MAX_EXPERIMENT_STATES states, the oldest exposures settle first, converted ones before
 *      open ones: an open state settled this way counts no later conversion (a person exposed to
 *      more than MAX_EXPERIMENT_STATES experiments at once, unconverted: a bot or a QA device);
 *   3. past MAX_SETTLED_EXPERIMENTS settled ids, the oldest are forgotten: a new exposure to one
 *      of those would count again.
 * So the item holds at most 200 states (~40 KB) and 80 KB of settled ids.
 */
import { createHash } from 'node:crypto';
import type { ExperimentState } from './person';

export const MAX_EXPERIMENT_STATES = 200;
export const MAX_SETTLED_EXPERIMENTS = 10_000;
const HASH_BYTES = 8;
const DAY_MS = 86_400_000;

export const experimentHash = (experimentId: string): Buffer =>
  createHash('sha256').update(experimentId).digest().subarray(0, HASH_BYTES);

/** Was the person exposed to this experiment before its state settled? */
export const isSettled = (settled: Uint8Array, experimentId: string): boolean => {
  const h = experimentHash(experimentId);
  for (let i = 0; i < settled.byteLength; i += HASH_BYTES)
    if (h.equals(settled.subarray(i, i + HASH_BYTES))) return true;
  return false;
};

/** Settled ids of both, each once, oldest first, within the cap. */
export const mergeSettled = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const bytes of [a, b])
    for (let i = 0; i < bytes.byteLength; i += HASH_BYTES) {
      const h = Buffer.from(bytes.subarray(i, i + HASH_BYTES));
      if (seen.has(h.toString('hex'))) continue;
      seen.add(h.toString('hex'));
      out.push(h);
    }
  return capSettled(Buffer.concat(out));
};

const capSettled = (settled: Uint8Array): Uint8Array =>
  settled.byteLength > MAX_SETTLED_EXPERIMENTS * HASH_BYTES
    ? settled.subarray(settled.byteLength - MAX_SETTLED_EXPERIMENTS * HASH_BYTES)
    : settled;

/** Which states settle now (rules 1 and 2), oldest exposure first. */
const toSettle = (states: Readonly<Record<string, ExperimentState>>, nowMs: number, windowDays: number) => {
  const entries = Object.entries(states);
  const done = entries.filter(
    ([, x]) => x.convertedAt !== undefined && Date.parse(x.convertedAt) < nowMs - windowDays * DAY_MS,
  );
  const settling = new Set(done.map(([id]) => id));
  const over = entries.length - settling.size - MAX_EXPERIMENT_STATES;
  if (over > 0) {
    const rest = entries
      .filter(([id]) => !settling.has(id))
      .sort(
        ([, a], [, b]) =>
          Number(a.convertedBy === undefined) - Number(b.convertedBy === undefined) ||
          a.exposedAt.localeCompare(b.exposedAt),
      );
    for (const [id] of rest.slice(0, over)) settling.add(id);
  }
  return [...settling];
};

/**
 * Apply the rules: settled states leave `states` (a dict, changed in place) and join the settled
 * ids, which are returned.
 */
export const boundExperiments = (
  states: Record<string, ExperimentState>,
  settled: Uint8Array,
  nowMs: number,
  windowDays: number,
): Uint8Array => {
  const ids = toSettle(states, nowMs, windowDays);
  if (ids.length === 0) return settled;
  for (const id of ids) delete states[id];
  return capSettled(Buffer.concat([settled, ...ids.map(experimentHash)]));
};
