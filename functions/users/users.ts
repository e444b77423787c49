/**
 * `GET /api/users/{userId}` (analyst): one profile per person — linked ids, channels, first and
 * last seen, counts, tags with their sources, consent per id. `PUT`/`POST /api/users/{userId}/tags`
 * and `DELETE /api/users/{userId}/tags/{tag}` (admin): manual tags, answered with every tag.
 *
 * Any id works: an anonymous id linked to a user names that user. An id Pulse knows nothing
 * about (no stats, links, tags or consent) is 404.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { IdentityReader, type LinkedId } from '../adapters/identity-reader';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { PeopleRepository } from '../adapters/people-repository';
import { TagsRepository } from '../adapters/tags-repository';
import type { PersonStats } from '../core/person';
import { Problem } from '../core/problem';
import { type PersonTag, parseTagsBody } from '../core/tags';
import { traitValues } from '../core/traits';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { Handlers } from '../http/operations';
import type { HttpResponse } from '../http/types';
import { contract } from './users.contract';

const db = documentClient();
const usersTable = requireEnv(tables.users.envVar);
const people = new PeopleRepository(db, usersTable);
const identity = new IdentityReader(db, usersTable);
const tagsRepository = new TagsRepository(db, requireEnv(tables.tags.envVar), membershipTriggersFromEnv(db));
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));

interface Person {
  requested: string;
  personKey: string;
  stats?: PersonStats;
  linked: LinkedId[];
  tags: PersonTag[];
  consent: Awaited<ReturnType<ConsentRepository['currentFor']>>;
}

/** Everything about the person an id names; 404 when there is nothing. */
const findPerson = async (requested: string): Promise<Person> => {
  let personKey = await identity.resolvePerson(requested);
  let stored = (await people.load([personKey])).people.get(personKey);
  // A profile frozen by a merge whose link is not readable yet: its user is the person.
  if (stored?.stats.mergedInto) {
    personKey = stored.stats.mergedInto;
    stored = (await people.load([personKey])).people.get(personKey);
  }
  const linked = await identity.linkedIds(personKey);
  const ids = [...new Set([personKey, requested, ...linked.map((l) => l.anonymousId)])];
  const [personTags, current] = await Promise.all([
    tagsRepository.personTags(personKey),
    consent.currentFor(ids),
  ]);
  const stats = stored && stored.version > 0 ? stored.stats : undefined;
  if (!stats && linked.length === 0 && personTags.length === 0 && current.size === 0)
    throw new Problem(404, 'not_found', `No user ${requested}`);
  return { requested, personKey, ...(stats && { stats }), linked, tags: personTags, consent: current };
};

const profile = (p: Person) => ({
  userId: p.personKey,
  ...(p.requested !== p.personKey && { resolvedFrom: p.requested }),
  linkedIds: p.linked,
  channels: p.stats?.channels ?? [],
  firstSeen: p.stats?.firstSeen ?? null,
  lastSeen: p.stats?.lastSeen ?? null,
  counts: p.stats?.counts ?? {},
  conversions: p.stats?.conversions ?? { count: 0, value: {} },
  campaigns: Object.entries(p.stats?.campaigns ?? {})
    .map(([campaignId, lastSeen]) => ({ campaignId, lastSeen }))
    .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1)),
  tags: p.tags,
  // Declared traits (hashed ones show their hash: they are for matching, never for display).
  traits: traitValues(p.stats?.traits),
  // Current purposes per id (a consent given on a device before login still counts for it).
  consent: [...p.consent.values()].map((c) => ({
    subject: c.subject,
    purposes: { analytics: false, marketing: false, personalization: false, ...c.purposes },
    policyVersion: c.policyVersion,
    recordedAt: c.recordedAt,
  })),
});

type Handler<K extends keyof typeof contract> = Handlers<typeof contract>[K];

const getUser: Handler<'getUser'> = async (_request, { params }) => ({
  status: 200,
  body: profile(await findPerson(params.userId)),
});

/** Manual tags: the body first (a bad one is a 400 whoever it is for), then the person. */
const putTags: Handler<'putTags'> = async (request, { params, body }) => {
  const tags = parseTagsBody(body);
  const { personKey } = await findPerson(params.userId);
  return tagList(personKey, await tagsRepository.replaceManualTags(personKey, tags, request.receivedAt));
};

const addTags: Handler<'addTags'> = async (request, { params, body }) => {
  const tags = parseTagsBody(body);
  const { personKey } = await findPerson(params.userId);
  return tagList(personKey, await tagsRepository.addManualTags(personKey, tags, request.receivedAt));
};

const deleteTag: Handler<'deleteTag'> = async (_request, { params }) => {
  const { personKey } = await findPerson(params.userId);
  return tagList(personKey, await tagsRepository.removeManualTag(personKey, params.tag));
};

const tagList = (personKey: string, list: PersonTag[]): HttpResponse => ({
  status: 200,
  body: { userId: personKey, tags: list },
});

export const handler = httpHandler({
  module: 'users/users',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: { getUser, putTags, addTags, deleteTag },
});
