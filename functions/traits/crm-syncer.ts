/**
 * One run of the CRM connectors (functions/core/crm-sync.ts for the paging and the values): for
 * each connector that is due, take its lease, pull the contacts changed since its cursor page by
 * page, match each to Pulse people, check the mapped properties against the trait declarations,
 * put the trait updates on the stream (the consumer applies them like any identify), then move
 * the cursor — so a run that dies between two pages resumes at the page it had not finished, and
 * a page sent twice is applied once (its events' ids are derived from contact and version).
 *
 * Logs and reports hold counts and trait names, never values or ids.
 */
import type { ConnectorsRepository, RunReport } from '../adapters/connectors-repository';
import { type HubspotClient, HubspotError, HubspotRateLimitedError } from '../adapters/hubspot-client';
import type { Connector, HubspotContact } from '../core/crm-sync';
import {
  advance,
  contactTraits,
  isDue,
  matchedUserId,
  matchValue,
  modifiedAt,
  START_CURSOR,
  searchRequest,
  unseen,
} from '../core/crm-sync';
import { type Accepted, accepted } from '../core/ingest';
import {
  checkTraits,
  type TraitContext,
  type TraitDeclaration,
  traitHash,
  traitUpdateEvent,
} from '../core/traits';

export interface SyncDeps {
  connectors: ConnectorsRepository;
  declarations: () => Promise<ReadonlyMap<string, TraitDeclaration>>;
  /** People whose hashed trait holds this hash (PeopleRepository.findByMatch). */
  findByMatch: (trait: string, hash: string) => Promise<string[]>;
  publish: (events: readonly Accepted[]) => Promise<void>;
  token: (connectorId: string) => Promise<string | undefined>;
  signingKey: () => Promise<Uint8Array>;
  client: (
    token: string,
    options: { deadline: number; onRateLimited: () => void },
  ) => Pick<HubspotClient, 'searchContacts'>;
  /** The wall clock, for leases and deadlines. */
  clock?: () => number;
}

/** Trait names a run lists as rejected, at most. */
const MAX_REJECTED_NAMES = 20;

const emptyRun = (startedAt: Date): RunReport => ({
  startedAt: startedAt.toISOString(),
  status: 'running',
  pulled: 0,
  applied: 0,
  unmatched: 0,
  rejected: 0,
  rejectedTraits: [],
  rateLimited: 0,
});

/** The Pulse people a contact is: the user id it names, or the people its hashed e-mail matches. */
const matchContact = async (
  deps: SyncDeps,
  connector: Connector,
  contact: HubspotContact,
  key: Uint8Array,
) => {
  if (connector.match.by === 'userId') {
    const userId = matchedUserId(connector, contact);
    return userId === undefined ? [] : [userId];
  }
  const value = matchValue(connector, contact);
  return value === undefined ? [] : deps.findByMatch(connector.match.trait, traitHash(key, value));
};

/** One page: the trait updates of its new contacts, counted into the run. */
const pageEvents = async (
  deps: SyncDeps,
  connector: Connector,
  fresh: readonly HubspotContact[],
  ctx: TraitContext & { key: Uint8Array },
  run: RunReport,
  now: Date,
): Promise<Accepted[]> => {
  const events: Accepted[] = [];
  for (const contact of fresh) {
    run.pulled++;
    const people = await matchContact(deps, connector, contact, ctx.key);
    if (people.length === 0) {
      run.unmatched++;
      continue;
    }
    const checked = checkTraits(contactTraits(connector, contact, ctx), ctx, 'properties');
    if (!checked.ok) {
      run.rejected++;
      for (const e of checked.errors) {
        const name = e.path.slice('properties.'.length);
        if (!run.rejectedTraits.includes(name) && run.rejectedTraits.length < MAX_REJECTED_NAMES)
          run.rejectedTraits.push(name);
      }
      continue;
    }
    if (Object.keys(checked.traits).length === 0) continue;
    const changed = modifiedAt(contact);
    for (const personKey of people)
      events.push(
        accepted(
          traitUpdateEvent({
            personKey,
            traits: checked.traits,
            door: 'connector',
            sourceId: `connector:${connector.connectorId}`,
            origin: `${contact.id}@${changed}`,
            receivedAt: now,
            ...(changed > 0 && { changedAt: new Date(changed).toISOString() }),
          }),
        ),
      );
  }
  return events;
};

/** Run one connector until it has pulled everything changed, or until the deadline. */
export const runConnector = async (
  deps: SyncDeps,
  connector: Connector,
  now: Date,
  deadline: number,
): Promise<RunReport | undefined> => {
  const clock = deps.clock ?? Date.now;
  const state = await deps.connectors.state(connector.connectorId);
  if (!isDue(connector, state.lastRun?.startedAt, now)) return undefined;
  const run = emptyRun(now);
  // The lease outlives the deadline a little: a run cut short by its timeout keeps others off until then.
  if (!(await deps.connectors.lease(connector.connectorId, clock(), deadline + 60_000, run)))
    return undefined;
  try {
    const token = await deps.token(connector.connectorId);
    if (!token) throw new MissingTokenError();
    const key = await deps.signingKey();
    const ctx = { declarations: await deps.declarations(), key };
    const client = deps.client(token, { deadline, onRateLimited: () => run.rateLimited++ });
    let cursor = state.cursor ?? START_CURSOR;
    while (clock() < deadline) {
      const page = await client.searchContacts(searchRequest(connector, cursor));
      const events = await pageEvents(deps, connector, unseen(page, cursor), ctx, run, now);
      if (events.length > 0) await deps.publish(events);
      run.applied += events.length;
      const next = advance(cursor, page);
      cursor = next.cursor;
      await deps.connectors.checkpoint(connector.connectorId, cursor, run);
      if (next.done) break;
    }
    run.status = 'ok';
  } catch (error) {
    run.status = error instanceof HubspotRateLimitedError ? 'rate_limited' : 'failed';
    run.error = describe(error);
  }
  run.finishedAt = new Date(clock()).toISOString();
  await deps.connectors.finish(connector.connectorId, run);
  return run;
};

class MissingTokenError extends Error {
  constructor() {
    super('No token for this connector in the CRM secret (docs/traits.md)');
    this.name = 'MissingTokenError';
  }
}

/** An error as the status shows it: its kind and message, which name no contact and no value. */
const describe = (error: unknown): string => {
  if (error instanceof HubspotError || error instanceof MissingTokenError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown error';
};

/** Every due connector, one after another, within the deadline. */
export const runConnectors = async (deps: SyncDeps, now: Date, deadline: number): Promise<RunReport[]> => {
  const reports: RunReport[] = [];
  for (const connector of await deps.connectors.list()) {
    if ((deps.clock ?? Date.now)() >= deadline) break;
    const report = await runConnector(deps, connector, now, deadline);
    if (report) reports.push(report);
  }
  return reports;
};
