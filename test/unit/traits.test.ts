import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../functions/core/events';
import { applyEvent, emptyPerson, mergeProfiles, type PersonStats } from '../../functions/core/person';
import { evaluateRule, parseCondition } from '../../functions/core/rules';
import {
  applyTraitChanges,
  checkTraits,
  type TraitDeclaration,
  type TraitEntry,
  traitDeclarationSchema,
  traitHash,
  traitValues,
} from '../../functions/core/traits';
import { isTargeted } from '../../functions/core/variant-assignment';
import { parseWith } from '../../functions/core/zod';

const key = Buffer.from('k'.repeat(32));
const decl = (name: string, type: TraitDeclaration['type'], pii: TraitDeclaration['pii'] = 'none') =>
  [name, { name, type, pii, purpose: 'analytics' }] as const;
const declarations = new Map<string, TraitDeclaration>([
  decl('plan', 'string'),
  decl('seats', 'number'),
  decl('vip', 'boolean'),
  decl('signedUpAt', 'date'),
  decl('interests', 'string[]'),
  decl('email', 'string', 'hash'),
  decl('ssn', 'string', 'reject'),
]);
const ctx = { declarations, key };

describe('trait declarations', () => {
  it('takes the documented body, defaults pii to none, refuses unknown types and fields', () => {
    const ok = parseWith(traitDeclarationSchema, { type: 'string', purpose: 'marketing' });
    expect(ok).toEqual({ ok: true, value: { type: 'string', pii: 'none', purpose: 'marketing' } });
    const bad = parseWith(traitDeclarationSchema, { type: 'map', purpose: 'analytics', colour: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.path).sort()).toEqual(['', 'type']);
  });
});

describe('checkTraits', () => {
  it('keeps declared traits typed and normalised, names undeclared ones', () => {
    const out = checkTraits(
      {
        plan: 'pro',
        seats: 12,
        vip: false,
        signedUpAt: '2026-06-01T10:00:00+02:00',
        interests: ['a', 'b', 'a'],
        favourite: 'x',
      },
      ctx,
    );
    expect(out).toEqual({
      ok: true,
      ignored: ['favourite'],
      traits: {
        plan: 'pro',
        seats: 12,
        vip: false,
        signedUpAt: '2026-06-01T08:00:00.000Z',
        interests: ['a', 'b'],
      },
    });
  });

  it('names the path of every wrong type, and refuses a reject trait', () => {
    const out = checkTraits({ seats: '12', vip: 'yes', signedUpAt: 'soon', ssn: '123' }, ctx);
    expect(out.ok).toBe(false);
    if (!out.ok)
      expect(out.errors.map((e) => e.path).sort()).toEqual([
        'traits.seats',
        'traits.signedUpAt',
        'traits.ssn',
        'traits.vip',
      ]);
  });

  it('stores a hashed trait as a keyed hash, normalised, never the value', () => {
    const out = checkTraits({ email: ' Ann@Example.com' }, ctx);
    expect(out.ok && out.traits.email).toBe(traitHash(key, 'ann@example.com'));
    expect(JSON.stringify(out)).not.toContain('Example');
    expect(traitHash(Buffer.from('x'.repeat(32)), 'ann@example.com')).not.toBe(
      traitHash(key, 'ann@example.com'),
    );
  });

  it('null unsets; whatever the input, the answer is typed or names a path (property)', () => {
    expect(checkTraits({ plan: null }, ctx)).toEqual({ ok: true, ignored: [], traits: { plan: null } });
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...declarations.keys(), 'other'), fc.jsonValue()),
        (input) => {
          const out = checkTraits(input, ctx);
          if (!out.ok) expect(out.errors.every((e) => e.path.startsWith('traits.'))).toBe(true);
          else
            for (const [name, v] of Object.entries(out.traits)) {
              const type = declarations.get(name)?.type;
              if (v === null || declarations.get(name)?.pii === 'hash') continue;
              if (type === 'string[]') expect(Array.isArray(v)).toBe(true);
              else if (type === 'date') expect(typeof v).toBe('string');
              else expect(typeof v).toBe(type);
            }
        },
      ),
    );
  });
});

const identify = (traits: Record<string, unknown>, at: string): CanonicalEvent => ({
  v: 1,
  eventId: `e-${at}`,
  type: 'identify',
  personKey: 'u1',
  userId: 'u1',
  deviceType: 'other',
  data: { traits },
  properties: {},
  timestamp: at,
  receivedAt: at,
  eventTime: at,
  sourceId: 's',
  door: 'identify',
});

describe('traits on the person', () => {
  it('latest write wins, whatever the order of arrival; identify counts as no engagement', () => {
    const p = emptyPerson('u1');
    applyEvent(p, identify({ plan: 'team' }, '2026-06-02T00:00:00.000Z'));
    applyEvent(p, identify({ plan: 'free', seats: 3 }, '2026-06-01T00:00:00.000Z'));
    expect(traitValues(p.traits)).toEqual({ plan: 'team', seats: 3 });
    expect(p.counts).toEqual({});
    expect(p.lastSeen).toBeUndefined();
  });

  it("a merge keeps the user's value and takes the traits only the anonymous profile had", () => {
    const user: PersonStats = {
      ...emptyPerson('u1'),
      traits: { plan: { v: 'pro', at: '2026-01-01T00:00:00Z' } },
    };
    const anon: PersonStats = {
      ...emptyPerson('a1'),
      traits: {
        plan: { v: 'free', at: '2026-06-01T00:00:00Z' },
        vip: { v: true, at: '2026-06-01T00:00:00Z' },
      },
    };
    expect(traitValues(mergeProfiles(user, anon, new Date('2026-06-02T00:00:00Z')).traits)).toEqual({
      plan: 'pro',
      vip: true,
    });
  });

  it('applying changes is order-independent for distinct times (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ at: fc.integer({ min: 0, max: 1e6 }), v: fc.string() }), {
          selector: (c) => c.at,
          minLength: 1,
        }),
        (changes) => {
          const forward: Record<string, TraitEntry> = {};
          const backward: Record<string, TraitEntry> = {};
          const iso = (n: number) => new Date(n * 1000).toISOString();
          for (const c of changes) applyTraitChanges(forward, { plan: c.v }, iso(c.at));
          for (const c of [...changes].reverse()) applyTraitChanges(backward, { plan: c.v }, iso(c.at));
          expect(forward).toEqual(backward);
        },
      ),
    );
  });
});

describe('rule conditions on traits', () => {
  const now = new Date('2026-06-10T15:30:00.000Z');
  const person = (traits: Record<string, unknown>): PersonStats => ({
    ...emptyPerson('u1'),
    traits: Object.fromEntries(
      Object.entries(traits).map(([k, v]) => [
        k,
        { v: v as TraitEntry['v'], at: '2026-06-01T00:00:00.000Z' },
      ]),
    ),
  });
  const holds = (when: unknown, traits: Record<string, unknown>) => {
    const parsed = parseCondition(when);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return evaluateRule({ when: parsed.value }, person(traits), now);
  };

  it('equals, in, gt/lt, exists', () => {
    expect(holds({ trait: 'plan', equals: 'pro' }, { plan: 'pro' }).holds).toBe(true);
    expect(holds({ trait: 'plan', equals: 'pro' }, { plan: 'free' }).holds).toBe(false);
    expect(holds({ trait: 'interests', equals: 'golf' }, { interests: ['tennis', 'golf'] }).holds).toBe(true);
    expect(holds({ trait: 'plan', in: ['pro', 'team'] }, { plan: 'team' }).holds).toBe(true);
    expect(holds({ trait: 'plan', in: ['pro', 'team'] }, {}).holds).toBe(false);
    expect(holds({ trait: 'seats', gt: 10, lt: 100 }, { seats: 12 }).holds).toBe(true);
    expect(holds({ trait: 'seats', gt: 10 }, { seats: 10 }).holds).toBe(false);
    expect(holds({ trait: 'seats', lt: 10 }, { seats: '5' }).holds).toBe(false);
    expect(holds({ trait: 'renewsAt', lt: '2026-07-01' }, { renewsAt: '2026-06-20' }).holds).toBe(true);
    expect(holds({ trait: 'email', exists: true }, { email: 'h1:x' }).holds).toBe(true);
    expect(holds({ trait: 'email', exists: false }, { email: null }).holds).toBe(true);
  });

  it('withinDays: exact flips for past and future dates', () => {
    expect(holds({ trait: 'signedUpAt', withinDays: 7 }, { signedUpAt: '2026-06-08' })).toEqual({
      holds: true,
      nextCheck: '2026-06-15T00:00:00.000Z',
    });
    expect(holds({ trait: 'signedUpAt', withinDays: 7 }, { signedUpAt: '2026-05-01' })).toEqual({
      holds: false,
    });
    expect(
      holds({ trait: 'trialEndsAt', withinDays: 1 }, { trialEndsAt: '2026-06-12T09:00:00.000Z' }),
    ).toEqual({
      holds: false,
      nextCheck: '2026-06-12T09:00:00.000Z',
    });
  });

  it('combines with event conditions, and names paths of bad trait conditions', () => {
    const parsed = parseCondition({
      all: [
        { trait: 'plan', equals: 'pro' },
        { type: 'click', atLeast: 1 },
      ],
    });
    expect(parsed.ok).toBe(true);
    const bad = (c: unknown) => {
      const r = parseCondition(c, ['when']);
      return r.ok ? [] : r.errors.map((e) => e.path);
    };
    expect(bad({ trait: 'plan' })).toEqual(['when.equals']);
    expect(bad({ trait: 'plan', equals: 'a', exists: true })).toEqual(['when.exists']);
    expect(bad({ trait: 'plan', colour: 1 })).toEqual(['when.colour']);
    expect(bad({ trait: '9x', exists: true })).toEqual(['when.trait']);
    expect(bad({ trait: 'seats', gt: 1, lt: '2026-01-01' })).toEqual(['when.lt']);
  });
});

describe('audiences by trait', () => {
  it('admits a person whose traits match every condition, never one without a profile', () => {
    const stats: PersonStats = {
      ...emptyPerson('u1'),
      traits: { plan: { v: 'pro', at: '2026-01-01T00:00:00Z' } },
    };
    const targeting = { traits: [{ trait: 'plan', in: ['pro', 'team'] }] };
    expect(isTargeted(targeting, { tags: new Set(), stats })).toBe(true);
    expect(isTargeted({ traits: [{ trait: 'plan', equals: 'free' }] }, { tags: new Set(), stats })).toBe(
      false,
    );
    expect(isTargeted(targeting, { tags: new Set() })).toBe(false);
  });
});
