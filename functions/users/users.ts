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
import { PeopleRepository } from '../adapters/people-repository';
import { TagsRepository } from '../adapters/tags-repository';
import type { PersonStats } from '../core/person';
import { Problem } from '../core/problem';
import { type PersonTag, parseTagParam, parseTagsBody } from '../core/tags';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { subjectParam } from '../http/params';
import type { HttpRequest, HttpResponse } from '../http/types';

const db = documentClient();
const usersTable = requireEnv(tables.users.envVar);
const people = new PeopleRepository(db, usersTable);
const identity = new IdentityReader(db, usersTable);
const tags = new TagsRepository(db, requireEnv(tables.tags.envVar));
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
const findPerson = async (request: HttpRequest): Promise<Person> => {
  const requested = subjectParam(request, 'userId');
  let personKey = await identity.resolvePerson(requested);
  let stored = (await people.load([personKey])).people.get(personKey);
  // A profile frozen by a merge whose link is not readable yet: its user is the person.
  if (stored?.stats.mergedInto) {
    personKey = stored.stats.mergedInto;
    stored = (await people.load([personKey])).people.get(personKey);
  }
  const linked = await identity.linkedIds(personKey);
  const ids = [...new Set([personKey, requested, ...linked.map((l) => l.anonymousId)])];
  const [personTags, current] = await Promise.all([tags.personTags(personKey), consent.currentFor(ids)]);
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
  // Current purposes per id (a consent given on a device before login still counts for it).
  consent: [...p.consent.values()].map((c) => ({
    subject: c.subject,
    purposes: { analytics: false, marketing: false, personalization: false, ...c.purposes },
    policyVersion: c.policyVersion,
    recordedAt: c.recordedAt,
  })),
});

const getUser = async (request: HttpRequest): Promise<HttpResponse> => ({
  status: 200,
  body: profile(await findPerson(request)),
});

const writeTags = async (request: HttpRequest): Promise<HttpResponse> => {
  // The body first: a bad one is a 400 whoever it is for.
  const body = request.route.id === 'deleteTag' ? undefined : parseTagsBody(request.body);
  const tag = request.route.id === 'deleteTag' ? parseTagParam(request.event.pathParameters?.tag) : undefined;
  const { personKey } = await findPerson(request);
  const list =
    request.route.id === 'putTags'
      ? await tags.replaceManualTags(personKey, body as string[], request.receivedAt)
      : request.route.id === 'addTags'
        ? await tags.addManualTags(personKey, body as string[], request.receivedAt)
        : await tags.removeManualTag(personKey, tag as string);
  return { status: 200, body: { userId: personKey, tags: list } };
};

export const handler = httpHandler({
  module: 'users/users',
  authenticators: { jwt: jwtAuthenticator() },
  handle: (request) => (request.route.id === 'getUser' ? getUser(request) : writeTags(request)),
});
