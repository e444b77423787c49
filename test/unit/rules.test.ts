import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../functions/core/events';
import { emptyPerson, type PersonStats } from '../../functions/core/person';
import { Problem } from '../../functions/core/problem';
import {
  type Condition,
  evaluateRule,
  evaluateRules,
  parseCondition,
  parseRuleBody,
  ruleBodySchema,
  ruleHash,
  ruleIdSchema,
} from '../../functions/core/rules';

const DAY = 86_400_000;
const now = new Date('2026-06-10T15:30:00.000Z');
const day = (offset: number) => new Date(now.getTime() + offset * DAY).toISOString().slice(0, 10);
const at = (offset: number, time = '12:00:00.000') => `${day(offset)}T${time}Z`;

const stats = (over: Partial<PersonStats> = {}): PersonStats => ({ ...emptyPerson('p1'), ...over });

/** Video plays on days relative to `now`: `{0: 2, -3: 1}`. */
const plays = (byOffset: Record<number, number>, type = 'video-play'): PersonStats['days'] =>
  Object.fromEntries(Object.entries(byOffset).map(([o, n]) => [day(Number(o)), { [type]: n }]));

const errorsOf = (body: unknown) => {
  try {
    parseRuleBody(body);
  } catch (error) {
    expect(error).toBeInstanceOf(Problem);
    expect((error as Problem).status).toBe(400);
    return (error as Problem).errors ?? [];
  }
  throw new Error('expected a validation error');
};

describe('rule validation', () => {
  it('accepts the documented example and every kind of condition', () => {
    expect(
      parseRuleBody({ tag: 'frequent_viewer', when: { type: 'video-play', atLeast: 5, withinDays: 7 } }),
    ).toEqual({ tag: 'frequent_viewer', when: { type: 'video-play', atLeast: 5, withinDays: 7 } });
    const when: Condition = {
      all: [
        { type: 'any', atLeast: 1 },
        { type: 'click', atMost: 3, withinDays: 30 },
        { campaign: 'summer', withinDays: 14 },
        { campaign: 'winter' },
        { channel: 'email' },
        { conversionValue: { currency: 'EUR', atLeast: 100, atMost: 1000 } },
        { any: [{ lastSeenWithinDays: 7 }, { not: { inactiveForDays: 30 } }] },
      ],
    };
    expect(parseRuleBody({ tag: 'vip:eu', when, description: 'Big spenders' })).toEqual({
      tag: 'vip:eu',
      when,
      description: 'Big spenders',
    });
  });

  it('names the path of each error inside the rule', () => {
    expect(
      errorsOf({
        tag: 'ok',
        when: {
          all: [
            { type: 'click', atLeast: 1 },
            { type: 'click', atLeast: 1, withinDays: 0 },
          ],
        },
      }),
    ).toEqual([{ path: 'when.all.1.withinDays', message: expect.stringMatching(/>=1/) }]);
    expect(errorsOf({ tag: 'ok', when: { any: [{ not: { type: 'tap', atLeast: 1 } }] } })).toEqual([
      { path: 'when.any.0.not.type', message: expect.stringContaining('video-play') },
    ]);
    expect(errorsOf({ tag: 'ok', when: { type: 'click', withinDays: 3 } })).toEqual([
      { path: 'when.atLeast', message: 'Give atLeast, atMost or both' },
    ]);
    expect(errorsOf({ tag: 'ok', when: { type: 'click', atLeast: 5, atMost: 2 } })).toEqual([
      { path: 'when.atMost', message: 'atMost must not be below atLeast' },
    ]);
    expect(errorsOf({ tag: 'ok', when: { type: 'click', atLeast: 1, withinDays: 91 } })[0]?.path).toBe(
      'when.withinDays',
    );
    expect(errorsOf({ tag: 'ok', when: { type: 'click', atLeast: 1.5 } })[0]?.path).toBe('when.atLeast');
    expect(errorsOf({ tag: 'ok', when: { type: 'click', atLeast: 1, channel: 'web' } })).toEqual([
      { path: 'when', message: expect.stringContaining('combine conditions with "all"') },
    ]);
    expect(errorsOf({ tag: 'ok', when: { type: 'click', atLeast: 1, within: 7 } })).toEqual([
      { path: 'when.within', message: expect.stringContaining('Unknown field') },
    ]);
    expect(errorsOf({ tag: 'ok', when: { all: [] } })).toEqual([
      { path: 'when.all', message: expect.stringContaining('1..20') },
    ]);
    expect(errorsOf({ tag: 'ok', when: { colour: 'red' } })).toEqual([
      { path: 'when', message: expect.stringContaining('one of type, campaign') },
    ]);
    expect(errorsOf({ tag: 'ok', when: [1] })).toEqual([{ path: 'when', message: expect.any(String) }]);
    expect(errorsOf({ tag: 'ok', when: { conversionValue: { currency: 'eur', atLeast: 1 } } })).toEqual([
      { path: 'when.conversionValue.currency', message: expect.stringContaining('ISO-4217') },
    ]);
    expect(errorsOf({ tag: 'ok', when: { conversionValue: { currency: 'EUR' } } })).toEqual([
      { path: 'when.conversionValue.atLeast', message: 'Give atLeast, atMost or both' },
    ]);
    expect(errorsOf({ tag: 'Bad Tag', when: { channel: 'web' } })).toEqual([
      { path: 'tag', message: expect.stringContaining('a-z') },
    ]);
    expect(errorsOf({ when: { channel: 'fax' } })).toEqual([
      { path: 'tag', message: 'Required' },
      { path: 'when.channel', message: expect.any(String) },
    ]);
    expect(errorsOf({ tag: 'ok' })).toEqual([{ path: 'when', message: 'Required' }]);
    expect(errorsOf({ tag: 'ok', when: { channel: 'web' }, priority: 1 })).toEqual([
      { path: 'priority', message: expect.stringContaining('Unknown field') },
    ]);
    expect(errorsOf('rule')).toEqual([{ path: '', message: 'Expected an object' }]);
  });

  it('reports every error of a rule at once, with its own path', () => {
    const paths = errorsOf({
      tag: 'ok',
      when: { all: [{ type: 'click' }, { campaign: '' }, { not: { lastSeenWithinDays: -1 } }] },
    }).map((e) => e.path);
    expect(paths).toEqual(['when.all.0.atLeast', 'when.all.1.campaign', 'when.all.2.not.lastSeenWithinDays']);
  });

  it('bounds depth and size, so a hostile rule cannot cost much to evaluate', () => {
    let deep: unknown = { channel: 'web' };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    expect(errorsOf({ tag: 'ok', when: deep })[0]?.message).toMatch(/Nested deeper/);
    const wide = {
      all: Array.from({ length: 20 }, () => ({ any: Array.from({ length: 5 }, () => ({ channel: 'web' })) })),
    };
    expect(errorsOf({ tag: 'ok', when: wide })[0]?.message).toMatch(/at most 64 conditions/);
  });

  it('documents the same language as one schema', () => {
    expect(ruleBodySchema.safeParse({ tag: 'x', when: { type: 'tap', atLeast: 1 } }).success).toBe(false);
    expect(ruleBodySchema.safeParse({ tag: 'x', when: { not: { channel: 'fax' } } }).success).toBe(false);
  });

  it('checks rule ids', () => {
    expect(ruleIdSchema.safeParse('frequent-viewers_1').success).toBe(true);
    for (const bad of [undefined, '', 'a b', 'x'.repeat(65), 'a#b'])
      expect(ruleIdSchema.safeParse(bad).success).toBe(false);
  });

  it('hashes what a rule decides, not how it is written', () => {
    const a = ruleHash({ tag: 't', when: { type: 'click', atLeast: 1, withinDays: 7 } });
    expect(ruleHash({ tag: 't', when: { withinDays: 7, atLeast: 1, type: 'click' } })).toBe(a);
    expect(ruleHash({ tag: 't', when: { type: 'click', atLeast: 2, withinDays: 7 } })).not.toBe(a);
    expect(ruleHash({ tag: 'u', when: { type: 'click', atLeast: 1, withinDays: 7 } })).not.toBe(a);
  });
});

describe('rule evaluation', () => {
  const frequent = { when: { type: 'video-play', atLeast: 5, withinDays: 7 } } as const;

  it('counts a type in a window of whole UTC days, and says when the oldest counted day leaves it', () => {
    // 2 plays 6 days ago, 3 today: 5 in the window (today and the 6 days before).
    const s = stats({ days: plays({ [-6]: 2, 0: 3 }) });
    expect(evaluateRule(frequent, s, now)).toEqual({ holds: true, nextCheck: `${day(1)}T00:00:00.000Z` });
    // A second before midnight it still holds; at midnight the day of the 2 plays has left.
    expect(evaluateRule(frequent, s, new Date(Date.parse(`${day(1)}T00:00:00.000Z`) - 1)).holds).toBe(true);
    expect(evaluateRule(frequent, s, new Date(`${day(1)}T00:00:00.000Z`))).toEqual({ holds: false });
  });

  it('skips days whose leaving does not change the outcome', () => {
    // 1 play 6 days ago, 1 three days ago, 5 yesterday: holds until yesterday leaves the window.
    const s = stats({ days: plays({ [-6]: 1, [-3]: 1, [-1]: 5 }) });
    expect(evaluateRule(frequent, s, now)).toEqual({ holds: true, nextCheck: `${day(6)}T00:00:00.000Z` });
    // Not holding, with no new event, never holds again: no check needed.
    expect(evaluateRule({ when: { type: 'video-play', atLeast: 9, withinDays: 7 } }, s, now)).toEqual({
      holds: false,
    });
  });

  it('atMost starts holding when enough days have left the window', () => {
    const rule = { when: { type: 'click', atMost: 1, withinDays: 3 } } as const;
    const s = stats({ days: plays({ [-2]: 3, [-1]: 1 }, 'click') });
    expect(evaluateRule(rule, s, now)).toEqual({ holds: false, nextCheck: `${day(1)}T00:00:00.000Z` });
    expect(evaluateRule(rule, s, new Date(`${day(1)}T00:00:00.000Z`))).toEqual({ holds: true });
  });

  it('counts lifetime totals without a window, and any type with "any"', () => {
    const s = stats({ counts: { click: 2, view: 3 }, days: plays({ 0: 1 }, 'view') });
    expect(evaluateRule({ when: { type: 'any', atLeast: 5 } }, s, now)).toEqual({ holds: true });
    expect(evaluateRule({ when: { type: 'click', atLeast: 3 } }, s, now)).toEqual({ holds: false });
    expect(evaluateRule({ when: { type: 'any', atLeast: 1, withinDays: 1 } }, s, now)).toEqual({
      holds: true,
      nextCheck: `${day(1)}T00:00:00.000Z`,
    });
  });

  it('campaigns, channels and conversion value', () => {
    const s = stats({
      campaigns: { summer: at(-10) },
      channels: ['web', 'email'],
      conversions: { count: 2, value: { EUR: 120.5 } },
    });
    expect(evaluateRule({ when: { campaign: 'summer' } }, s, now)).toEqual({ holds: true });
    expect(evaluateRule({ when: { campaign: 'summer', withinDays: 14 } }, s, now)).toEqual({
      holds: true,
      nextCheck: `${day(4)}T00:00:00.000Z`,
    });
    expect(evaluateRule({ when: { campaign: 'summer', withinDays: 10 } }, s, now)).toEqual({ holds: false });
    expect(evaluateRule({ when: { campaign: 'toString' } }, s, now)).toEqual({ holds: false });
    expect(evaluateRule({ when: { channel: 'email' } }, s, now)).toEqual({ holds: true });
    expect(evaluateRule({ when: { channel: 'ios' } }, s, now)).toEqual({ holds: false });
    const value = (atLeast: number, currency = 'EUR') => ({
      when: { conversionValue: { currency, atLeast } },
    });
    expect(evaluateRule(value(100), s, now).holds).toBe(true);
    expect(evaluateRule(value(200), s, now).holds).toBe(false);
    expect(evaluateRule(value(1, 'USD'), s, now).holds).toBe(false);
  });

  it('recency and inactivity, and a person never seen', () => {
    const s = stats({ lastSeen: at(-3, '23:59:59.000') });
    expect(evaluateRule({ when: { lastSeenWithinDays: 7 } }, s, now)).toEqual({
      holds: true,
      nextCheck: `${day(4)}T00:00:00.000Z`,
    });
    expect(evaluateRule({ when: { inactiveForDays: 7 } }, s, now)).toEqual({
      holds: false,
      nextCheck: `${day(4)}T00:00:00.000Z`,
    });
    expect(evaluateRule({ when: { inactiveForDays: 3 } }, s, now)).toEqual({ holds: true });
    expect(evaluateRule({ when: { inactiveForDays: 1 } }, stats(), now)).toEqual({ holds: true });
    expect(evaluateRule({ when: { lastSeenWithinDays: 1 } }, stats(), now)).toEqual({ holds: false });
  });

  it('all, any and not change when their combination does', () => {
    const s = stats({ days: plays({ [-1]: 5 }), lastSeen: at(-1), channels: ['web'] });
    // Frequent viewer (until day 6) and not seen within 3 days (false until day 2): flips twice.
    const rule = { when: { all: [frequent.when, { not: { lastSeenWithinDays: 3 } }] } } as const;
    expect(evaluateRule(rule, s, now)).toEqual({ holds: false, nextCheck: `${day(2)}T00:00:00.000Z` });
    expect(evaluateRule(rule, s, new Date(`${day(2)}T00:00:00.000Z`))).toEqual({
      holds: true,
      nextCheck: `${day(6)}T00:00:00.000Z`,
    });
    expect(evaluateRule({ when: { any: [frequent.when, { channel: 'web' }] } }, s, now)).toEqual({
      holds: true,
    });
  });

  it('gives every rule its outcome with the rule it belongs to', () => {
    const s = stats({ days: plays({ 0: 5 }) });
    expect(
      evaluateRules(
        [
          { ruleId: 'r1', tag: 'frequent_viewer', ...frequent },
          { ruleId: 'r2', tag: 'emailed', when: { channel: 'email' } },
        ],
        s,
        now,
      ),
    ).toEqual([
      { rule: { ruleId: 'r1', tag: 'frequent_viewer' }, holds: true, nextCheck: `${day(7)}T00:00:00.000Z` },
      { rule: { ruleId: 'r2', tag: 'emailed' }, holds: false },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: evaluation agrees with a direct recount at any later time, and `nextCheck` is
// exactly when that recount first disagrees with the outcome now.

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** The first day of an n-day window at t, as API users would count it. */
const windowStart = (t: number, n: number) => isoDay(t - (n - 1) * DAY);

const recount = (c: Condition, s: PersonStats, t: number): boolean => {
  if ('all' in c) return c.all.every((x) => recount(x, s, t));
  if ('any' in c) return c.any.some((x) => recount(x, s, t));
  if ('not' in c) return !recount(c.not, s, t);
  const inRange = (n: number, p: { atLeast?: number; atMost?: number }) =>
    (p.atLeast === undefined || n >= p.atLeast) && (p.atMost === undefined || n <= p.atMost);
  if ('type' in c) {
    let n = 0;
    if (c.withinDays === undefined)
      for (const [type, k] of Object.entries(s.counts)) n += c.type === 'any' || c.type === type ? k : 0;
    else
      for (const [d, counts] of Object.entries(s.days))
        if (d >= windowStart(t, c.withinDays))
          for (const [type, k] of Object.entries(counts)) n += c.type === 'any' || c.type === type ? k : 0;
    return inRange(n, c);
  }
  if ('campaign' in c) {
    const last = s.campaigns[c.campaign];
    return (
      last !== undefined && (c.withinDays === undefined || last.slice(0, 10) >= windowStart(t, c.withinDays))
    );
  }
  if ('channel' in c) return s.channels.includes(c.channel);
  if ('conversionValue' in c)
    return inRange(s.conversions.value[c.conversionValue.currency] ?? 0, c.conversionValue);
  if ('lastSeenWithinDays' in c)
    return s.lastSeen !== undefined && s.lastSeen.slice(0, 10) >= windowStart(t, c.lastSeenWithinDays);
  // Model conditions are not generated here: test/unit/models/scoring.test.ts.
  if ('model' in c) return false;
  if ('trait' in c) throw new Error('trait conditions: test/unit/traits.test.ts');
  return !(s.lastSeen !== undefined && s.lastSeen.slice(0, 10) >= windowStart(t, c.inactiveForDays));
};

const base = now.getTime();
const timeAround = (fromDays: number, toDays: number) =>
  fc.integer({ min: fromDays * DAY, max: toDays * DAY }).map((o) => new Date(base + o).toISOString());
const bound = fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined });

const leaf: fc.Arbitrary<Condition> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom(...EVENT_TYPES.slice(0, 3), 'any' as const),
      atLeast: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      atMost: bound,
      withinDays: fc.option(fc.integer({ min: 1, max: 90 }), { nil: undefined }),
    })
    .map(({ atLeast, atMost, withinDays, type }) => ({
      type,
      ...(atLeast === undefined && atMost === undefined ? { atLeast: 1 } : {}),
      ...(atLeast !== undefined && { atLeast }),
      // The validator refuses atMost below atLeast.
      ...(atMost !== undefined && { atMost: atLeast === undefined ? atMost : atLeast + atMost }),
      ...(withinDays !== undefined && { withinDays }),
    })),
  fc
    .record({
      campaign: fc.constantFrom('c1', 'c2', 'c3'),
      withinDays: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
    })
    .map(({ campaign, withinDays }) => ({ campaign, ...(withinDays !== undefined && { withinDays }) })),
  fc.constantFrom('web', 'email').map((channel) => ({ channel }) as Condition),
  fc
    .integer({ min: 0, max: 300 })
    .map((atLeast) => ({ conversionValue: { currency: 'EUR', atLeast } }) as Condition),
  fc.integer({ min: 1, max: 120 }).map((n) => ({ lastSeenWithinDays: n }) as Condition),
  fc.integer({ min: 1, max: 120 }).map((n) => ({ inactiveForDays: n }) as Condition),
);

const condition: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('c').map((not) => ({ not })),
  ),
})).c;

const person: fc.Arbitrary<PersonStats> = fc
  .record({
    days: fc.dictionary(
      fc.integer({ min: -95, max: 1 }).map((o) => isoDay(base + o * DAY)),
      fc.dictionary(fc.constantFrom('click', 'view', 'share'), fc.integer({ min: 0, max: 4 }), {
        maxKeys: 3,
      }),
      { maxKeys: 12 },
    ),
    campaigns: fc.dictionary(fc.constantFrom('c1', 'c2'), timeAround(-250, 1), { maxKeys: 2 }),
    channels: fc.subarray(['web', 'email', 'ios']),
    value: fc.integer({ min: 0, max: 300 }),
    lastSeen: fc.option(timeAround(-150, 1), { nil: undefined }),
  })
  .map(({ days, campaigns, channels, value, lastSeen }) => {
    const counts: Record<string, number> = {};
    for (const c of Object.values(days))
      for (const [t, n] of Object.entries(c)) counts[t] = (counts[t] ?? 0) + n;
    return stats({
      days,
      counts,
      campaigns,
      channels,
      conversions: { count: 1, value: { EUR: value } },
      ...(lastSeen !== undefined && { lastSeen }),
    });
  });

const start = fc.integer({ min: 0, max: 2 * DAY }).map((o) => base + o);

describe('rule evaluation, properties', () => {
  it('agrees with a direct recount at any time', () => {
    fc.assert(
      fc.property(condition, person, start, (when, s, t) => {
        expect(evaluateRule({ when }, s, new Date(t)).holds).toBe(recount(when, s, t));
      }),
      { numRuns: 2000 },
    );
  });

  it('holds its outcome until nextCheck, changes exactly then, and never changes without one', () => {
    fc.assert(
      fc.property(condition, person, start, fc.double({ min: 0, max: 1, noNaN: true }), (when, s, t, u) => {
        const outcome = evaluateRule({ when }, s, new Date(t));
        if (outcome.nextCheck === undefined) {
          // No event arrives: the outcome stays, however long we wait.
          for (const later of [t + 1, t + u * 400 * DAY, t + 4000 * DAY])
            expect(recount(when, s, later)).toBe(outcome.holds);
          return;
        }
        const next = Date.parse(outcome.nextCheck);
        expect(next).toBeGreaterThan(t);
        expect(next % DAY).toBe(0); // windows move at 00:00 UTC
        expect(recount(when, s, t + u * (next - 1 - t))).toBe(outcome.holds);
        expect(recount(when, s, next - 1)).toBe(outcome.holds);
        expect(recount(when, s, next)).toBe(!outcome.holds);
        // Evaluated again at nextCheck (what the sweep does): consistent, and moves on.
        const again = evaluateRule({ when }, s, new Date(next));
        expect(again.holds).toBe(!outcome.holds);
        if (again.nextCheck !== undefined) expect(Date.parse(again.nextCheck)).toBeGreaterThan(next);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every generated condition, and the validated form is the same condition', () => {
    fc.assert(
      fc.property(condition, (when) => {
        // The schema the OpenAPI document shows agrees with the validator.
        expect(ruleBodySchema.safeParse({ tag: 't', when }).success).toBe(true);
        const parsed = parseCondition(when);
        if (!parsed.ok) {
          // Only the size and depth bounds may refuse a generated condition.
          expect(parsed.errors.every((e) => /Nested deeper|at most 64/.test(e.message))).toBe(true);
          return;
        }
        expect(parsed.value).toEqual(when);
      }),
    );
  });
});
