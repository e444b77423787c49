/**
 * Declared traits: what a person's profile may hold beyond their events (plan, lifecycle, a CRM's
 * fields). A trait is declared before anything sets it — its type, what to do with personal data
 * (`pii`), the consent purpose it serves — and every door (identify, Segment's identify, imports,
 * CRM connectors) checks values against the declarations here. Pure: the key for hashed traits
 * is passed in.
 *
 *  - undeclared trait: dropped and counted; the answer names it (`ignoredTraits`);
 *  - wrong type: a field error naming its path (`traits.plan`);
 *  - `pii: "hash"`: stored as a keyed hash (normalised: trimmed, lower case), for matching only;
 *  - `pii: "reject"`: a field error — the trait is declared so that it is refused, never stored;
 *  - `null`: unsets the trait.
 *
 * On the person (PersonStats.traits) each trait keeps its value and the time it was set: the
 * latest write wins, and on an identity merge the user's value wins over the anonymous one's.
 */
import { createHmac } from 'node:crypto';
import * as z from 'zod/mini';
import { PURPOSES } from './consent';
import { derivedEventId } from './envelope';
import { type CanonicalEvent, type Door, doorEvent, isIsoTime, PRINTABLE } from './events';
import type { FieldError } from './problem';
import { deriveKey } from './signing';

export const TRAIT_TYPES = ['string', 'number', 'boolean', 'date', 'string[]'] as const;
export type TraitType = (typeof TRAIT_TYPES)[number];
export const TRAIT_PII = ['none', 'hash', 'reject'] as const;
export type TraitPii = (typeof TRAIT_PII)[number];

export const TRAIT_LIMITS = {
  /** Declared traits in all (they are loaded whole by every door, and cached). */
  declarations: 200,
  /** Traits one call may set. */
  perCall: 100,
  stringLength: 1024,
  listItems: 50,
  listItemLength: 256,
} as const;

export const TRAIT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const traitNameSchema = z
  .string()
  .check(z.regex(TRAIT_NAME_PATTERN, 'Expected a letter, then up to 63 letters, digits or _'));

export const traitDeclarationSchema = z.strictObject({
  type: z.enum(TRAIT_TYPES),
  pii: z._default(z.enum(TRAIT_PII), 'none'),
  /** The consent purpose the trait serves (docs/traits.md). */
  purpose: z.enum(PURPOSES),
  description: z.optional(z.string().check(z.maxLength(500))),
});
export type TraitDeclarationBody = z.infer<typeof traitDeclarationSchema>;
export interface TraitDeclaration extends TraitDeclarationBody {
  name: string;
}

/** A stored value: hashed traits hold `h1:` hashes in place of their values. */
export type TraitValue = string | number | boolean | string[];

/** A trait on a person: its value (null: unset) and when it was set (the setting event's time). */
export interface TraitEntry {
  v: TraitValue | null;
  at: string;
}

/** Traits as set by one call: declared, typed, hashed where declared so; null unsets. */
export type TraitChanges = Record<string, TraitValue | null>;

/** The traits of a call as its door accepts them. */
export type TraitCheck =
  | { ok: true; traits: TraitChanges; ignored: string[] }
  | { ok: false; errors: FieldError[]; ignored: string[] };

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;
const printable = (s: string) => PRINTABLE.test(s);

/** A value of the declared type, normalised (dates as `YYYY-MM-DD` or UTC ISO), or why not. */
export const typedValue = (type: TraitType, value: unknown): { value: TraitValue } | { error: string } => {
  switch (type) {
    case 'string':
      return typeof value === 'string' && value.length <= TRAIT_LIMITS.stringLength && printable(value)
        ? { value }
        : { error: `Expected a string of at most ${TRAIT_LIMITS.stringLength} printable characters` };
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 1e15
        ? { value }
        : { error: 'Expected a finite number' };
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { error: 'Expected true or false' };
    case 'date': {
      if (typeof value === 'string' && DATE_ONLY.test(value) && !Number.isNaN(Date.parse(value)))
        return { value };
      if (typeof value === 'string' && isIsoTime(value)) return { value: new Date(value).toISOString() };
      return { error: 'Expected a date (YYYY-MM-DD) or an ISO-8601 date-time' };
    }
    case 'string[]':
      return Array.isArray(value) &&
        value.length <= TRAIT_LIMITS.listItems &&
        value.every(
          (s) =>
            typeof s === 'string' && s.length > 0 && s.length <= TRAIT_LIMITS.listItemLength && printable(s),
        )
        ? { value: [...new Set(value as string[])] }
        : {
            error: `Expected a list of at most ${TRAIT_LIMITS.listItems} strings of 1..${TRAIT_LIMITS.listItemLength} characters`,
          };
  }
};

/** What a hashed value starts with (the version of the hash). */
export const TRAIT_HASH_PREFIX = 'h1:';

/**
 * A keyed hash of a trait value, for matching without keeping the value (an e-mail): trimmed and
 * lower-cased first, so `Ann@Example.com ` and `ann@example.com` match. The key is derived from the
 * signing key for this purpose alone.
 */
export const traitHash = (key: Uint8Array, value: string | number | boolean): string =>
  `${TRAIT_HASH_PREFIX}${createHmac('sha256', traitHashKey(key))
    .update(String(value).trim().toLowerCase())
    .digest('base64url')}`;

/** The derived key, once per signing key (an import hashes a value per row). */
const derivedKeys = new WeakMap<Uint8Array, Buffer>();
const traitHashKey = (key: Uint8Array): Buffer => {
  let derived = derivedKeys.get(key);
  if (!derived) {
    derived = deriveKey(key, 'trait-hash');
    derivedKeys.set(key, derived);
  }
  return derived;
};

const hashed = (key: Uint8Array, value: TraitValue): TraitValue =>
  Array.isArray(value) ? value.map((v) => traitHash(key, v)) : traitHash(key, value);

/**
 * A call's traits against the declarations: errors name `<prefix>.<trait>`. The key is needed
 * only when a declared trait is hashed.
 */
export const checkTraits = (
  input: Readonly<Record<string, unknown>>,
  { declarations, key }: TraitContext,
  prefix = 'traits',
): TraitCheck => {
  const ignored: string[] = [];
  const errors: FieldError[] = [];
  const traits: TraitChanges = Object.create(null);
  const names = Object.keys(input);
  if (names.length > TRAIT_LIMITS.perCall)
    return {
      ok: false,
      ignored,
      errors: [{ path: prefix, message: `At most ${TRAIT_LIMITS.perCall} traits per call` }],
    };
  for (const name of names) {
    const decl = declarations.get(name);
    if (!decl) {
      ignored.push(name);
      continue;
    }
    const path = `${prefix}.${name}`;
    if (decl.pii === 'reject') {
      errors.push({ path, message: 'This trait is declared pii "reject": it is never accepted' });
      continue;
    }
    const raw = input[name];
    if (raw === null) {
      traits[name] = null;
      continue;
    }
    const typed = typedValue(decl.type, raw);
    if ('error' in typed) {
      errors.push({ path, message: typed.error });
      continue;
    }
    if (decl.pii === 'hash') {
      if (!key) throw new Error('A hashed trait needs the signing key');
      traits[name] = hashed(key, typed.value);
    } else traits[name] = typed.value;
  }
  return errors.length > 0 ? { ok: false, errors, ignored } : { ok: true, traits, ignored };
};

/**
 * A value given as text (a CSV cell, a CRM property — HubSpot sends every value as a string) as
 * the declared type wants it: numbers and booleans parsed, lists split on `;`, dates in epoch
 * milliseconds made ISO. Anything that does not parse stays text, for checkTraits to refuse.
 */
export const fromText = (type: TraitType, raw: string): unknown => {
  switch (type) {
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'string[]':
      return raw.split(';').filter((s) => s.length > 0);
    case 'date':
      return /^\d+$/.test(raw) ? new Date(Number(raw)).toISOString() : raw;
    default:
      return raw;
  }
};

/** What a door checks traits with: the declarations, and the key when one is hashed. */
export interface TraitContext {
  declarations: ReadonlyMap<string, TraitDeclaration>;
  key?: Uint8Array;
}

/** Traits given as a non-empty object? (Only then does a door load the declarations.) */
export const hasTraits = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;

/** Does any declaration need the key (so a door loads it only then)? */
export const needsKey = (declarations: ReadonlyMap<string, TraitDeclaration>): boolean =>
  [...declarations.values()].some((d) => d.pii === 'hash');

/** Set changes on a person's traits: a change older than the value held is ignored (latest wins). */
export const applyTraitChanges = (
  traits: Record<string, TraitEntry>,
  changes: Readonly<Record<string, unknown>>,
  at: string,
): void => {
  for (const [name, v] of Object.entries(changes)) {
    const held = Object.hasOwn(traits, name) ? traits[name] : undefined;
    if (held && held.at > at) continue;
    traits[name] = { v: v as TraitValue | null, at };
  }
};

/**
 * The anonymous profile's traits folded into the user's: the user's value wins for a trait both
 * have (the user's profile is the one a person signed in with, and what a CRM keys on); a trait
 * only the anonymous profile has moves over as it was.
 */
export const mergeTraits = (
  user: Record<string, TraitEntry>,
  anonymous: Readonly<Record<string, TraitEntry>>,
): void => {
  for (const [name, entry] of Object.entries(anonymous)) if (!Object.hasOwn(user, name)) user[name] = entry;
};

/** The traits a profile shows: set ones only. */
export const traitValues = (
  traits: Readonly<Record<string, TraitEntry>> | undefined,
): Record<string, TraitValue> =>
  Object.fromEntries(
    Object.entries(traits ?? {}).flatMap(([name, e]) => (e.v === null ? [] : [[name, e.v] as const])),
  );

/** The latest time any trait was set (retention counts it as activity). */
export const lastTraitWrite = (
  traits: Readonly<Record<string, TraitEntry>> | undefined,
): string | undefined =>
  Object.values(traits ?? {}).reduce<string | undefined>(
    (a, e) => (a === undefined || e.at > a ? e.at : a),
    undefined,
  );

/**
 * A trait update from a job (an import row, a CRM contact) as the identify event every door sends:
 * its id derived from the job, the row or record and what it sets, so a job that resumes after a
 * crash sends the same event again and the consumer applies it once. `changedAt`: when the source
 * says the value changed (a CRM's last-modified time): the latest change wins on the person.
 */
export const traitUpdateEvent = (input: {
  personKey: string;
  traits: TraitChanges;
  door: Extract<Door, 'import' | 'connector'>;
  sourceId: string;
  /** What makes this update unique within its job (row number, record id and version). */
  origin: string;
  receivedAt: Date;
  changedAt?: string;
}): CanonicalEvent => {
  const event = doorEvent(
    {
      eventId: derivedEventId(input.sourceId, {
        origin: input.origin,
        person: input.personKey,
        traits: input.traits,
      }),
      type: 'identify',
      userId: input.personKey,
      deviceType: 'other',
      channel: 'server',
      data: { traits: input.traits },
      properties: {},
      sourceId: input.sourceId,
      door: input.door,
    },
    input.receivedAt,
  );
  if (input.changedAt !== undefined && input.changedAt < event.eventTime) {
    event.eventTime = input.changedAt;
    event.timestamp = input.changedAt;
  }
  return event;
};
