import { describe, expect, it } from 'vitest';
import { issueConsentToken } from '../../functions/core/consent';
import { decodeCanonical } from '../../functions/core/envelope';
import {
  applyUpdate,
  type ExperimentBody,
  experimentBodySchema,
  exposureEvent,
  exposureEventId,
  meetsGoal,
  promotionConsent,
  promotionQuerySchema,
  runningAt,
  type StoredExperiment,
} from '../../functions/core/experiments';
import { Problem } from '../../functions/core/problem';
import { parseWith } from '../../functions/core/zod';

const body = (over: Record<string, unknown> = {}) => ({
  placement: 'home_banner',
  status: 'draft',
  variants: [
    { id: 'A', weight: 50, content: { headline: 'Spring sale' } },
    { id: 'B', weight: 50, content: { headline: 'Spring sale: 20 % off' } },
  ],
  goal: { type: 'conversion' },
  ...over,
});
const parse = (input: unknown) => parseWith(experimentBodySchema, input);
const valid = (over: Record<string, unknown> = {}): ExperimentBody => {
  const r = parse(body(over));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};
const errorsOf = (input: unknown) => {
  const r = parse(input);
  return r.ok ? [] : r.errors;
};

describe('experiment validation', () => {
  it('accepts a definition and fills the defaults (coverage 1, no targeting)', () => {
    expect(valid()).toMatchObject({ coverage: 1, targeting: {}, status: 'draft' });
    expect(
      valid({
        targeting: { tagsAny: ['frequent_viewer'], tagsAll: ['opted_in'], channels: ['ios', 'web'] },
        coverage: 0.25,
        goal: { type: 'custom', name: 'signup' },
      }),
    ).toMatchObject({ coverage: 0.25, goal: { type: 'custom', name: 'signup' } });
  });

  it('names the path of every error', () => {
    expect(errorsOf(body({ variants: [] }))).toEqual([
      { path: 'variants', message: 'At least two variants: the first is the control' },
    ]);
    expect(
      errorsOf(
        body({
          variants: [
            { id: 'A', weight: 0, content: {} },
            { id: 'B', weight: 0, content: {} },
          ],
        }),
      ),
    ).toEqual([
      { path: 'variants', message: expect.stringMatching(/weights must sum to a positive number/) },
    ]);
    expect(
      errorsOf(
        body({
          variants: [
            { id: 'A', weight: 1, content: {} },
            { id: 'B', weight: 1, content: {} },
            { id: 'A', weight: 1, content: {} },
          ],
        }),
      ),
    ).toEqual([{ path: 'variants.2.id', message: 'Duplicate variant id "A" (also variants.0.id)' }]);
    expect(errorsOf(body({ coverage: 1.5 }))).toEqual([
      { path: 'coverage', message: 'Expected a fraction from 0 to 1' },
    ]);
    expect(errorsOf(body({ coverage: -0.1 }))).toEqual([
      { path: 'coverage', message: 'Expected a fraction from 0 to 1' },
    ]);
    expect(errorsOf(body({ coverage: '1' })).map((e) => e.path)).toEqual(['coverage']);
  });

  it('reports several errors at once, nested ones included', () => {
    const paths = errorsOf({
      placement: 'home banner',
      status: 'live',
      variants: [
        { id: 'A', weight: -1, content: {} },
        { id: 'B#1', weight: 1, content: 'text' },
      ],
      targeting: { tagsAny: ['VIP'], channels: ['fax'] },
      goal: { type: 'purchase' },
      extra: true,
    }).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'placement',
        'status',
        'variants.0.weight',
        'variants.1.id',
        'variants.1.content',
        'targeting.tagsAny.0',
        'targeting.channels.0',
        'goal.type',
      ]),
    );
  });

  it('keeps goal names to custom goals, and refuses hostile or huge content', () => {
    expect(errorsOf(body({ goal: { type: 'click', name: 'x' } }))).toEqual([
      { path: 'goal.name', message: 'name applies to custom goals only' },
    ]);
    const hostile = JSON.parse('{"ok": 1, "nested": {"constructor": {"prototype": 1}}}');
    expect(
      errorsOf(body({ variants: [{ id: 'A', weight: 1, content: hostile }, body().variants[1]] })).map(
        (e) => e.path,
      ),
    ).toEqual(['variants.0.content.nested.constructor']);
    // zod drops a `__proto__` key outright: nothing is inherited, nothing stored.
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const kept = valid({ variants: [{ id: 'A', weight: 1, content: proto }, body().variants[1]] }).variants[0]
      ?.content as Record<string, unknown>;
    expect(JSON.stringify(kept)).toBe('{"a":1}');
    expect(kept.polluted).toBeUndefined();
    const huge = { text: 'x'.repeat(8000), more: 'y'.repeat(8000), again: 'z'.repeat(8000) };
    expect(errorsOf(body({ variants: [body().variants[0], { id: 'B', weight: 1, content: huge }] }))).toEqual(
      [{ path: 'variants.1.content', message: 'Content exceeds 16384 bytes of JSON' }],
    );
  });
});

const now = new Date('2026-06-01T12:00:00.000Z');
const later = new Date('2026-06-02T12:00:00.000Z');
const conflictOf = (fn: () => unknown): Problem => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('expected a Problem');
};

describe('update rules', () => {
  const created = applyUpdate('exp-1', undefined, valid(), [], now);
  const started = applyUpdate('exp-1', created, valid({ status: 'running' }), [], now);

  it('creates at version 1 and starts on the first run', () => {
    expect(created).toMatchObject({ experimentId: 'exp-1', version: 1, createdAt: now.toISOString() });
    expect(created.startedAt).toBeUndefined();
    expect(started).toMatchObject({ version: 2, status: 'running', startedAt: now.toISOString() });
  });

  it('lets a draft change anything', () => {
    const changed = applyUpdate(
      'exp-1',
      created,
      valid({ variants: [...body().variants, { id: 'C', weight: 10, content: {} }] }),
      [],
      later,
    );
    expect(changed.variants).toHaveLength(3);
    expect(changed).toMatchObject({
      version: 2,
      createdAt: now.toISOString(),
      updatedAt: later.toISOString(),
    });
  });

  it('refuses to change variants, weights, content, goal or placement once started (409)', () => {
    const v = body().variants;
    const cases: [Record<string, unknown>, string][] = [
      [{ variants: [v[0], { ...v[1], weight: 80 }] }, 'variants'],
      [{ variants: [v[0], { ...v[1], content: { headline: 'other' } }] }, 'variants'],
      [{ variants: [v[1], v[0]] }, 'variants'],
      [{ variants: [...v, { id: 'C', weight: 1, content: {} }] }, 'variants'],
      [{ goal: { type: 'click' } }, 'goal'],
      [{ placement: 'footer' }, 'placement'],
    ];
    for (const [over, path] of cases)
      for (const status of ['running', 'stopped']) {
        const p = conflictOf(() => applyUpdate('exp-1', started, valid({ status, ...over }), [], later));
        expect(p.status).toBe(409);
        expect(p.code).toBe('conflict');
        expect(p.errors?.[0]?.path).toBe(path);
      }
  });

  it('allows coverage and targeting changes while running, and stop/restart keeps startedAt', () => {
    const wider = applyUpdate(
      'exp-1',
      started,
      valid({ status: 'running', coverage: 0.5, targeting: { channels: ['ios'] } }),
      [],
      later,
    );
    expect(wider).toMatchObject({ coverage: 0.5, startedAt: now.toISOString() });
    const stopped = applyUpdate(
      'exp-1',
      wider,
      valid({ status: 'stopped', coverage: 0.5, targeting: { channels: ['ios'] } }),
      [],
      later,
    );
    expect(stopped).toMatchObject({
      status: 'stopped',
      startedAt: now.toISOString(),
      stoppedAt: later.toISOString(),
    });
    const restarted = applyUpdate(
      'exp-1',
      stopped,
      valid({ status: 'running' }),
      [],
      new Date('2026-06-03T00:00:00Z'),
    );
    expect(restarted).toMatchObject({
      status: 'running',
      startedAt: now.toISOString(),
      stoppedAt: later.toISOString(),
    });
  });

  it('refuses to go back to draft once started', () => {
    expect(
      conflictOf(() => applyUpdate('exp-1', started, valid({ status: 'draft' }), [], later)).errors?.[0]
        ?.path,
    ).toBe('status');
  });

  it('runs at most one experiment per placement', () => {
    const p = conflictOf(() =>
      applyUpdate('exp-2', undefined, valid({ status: 'running' }), [{ experimentId: 'exp-1' }], now),
    );
    expect(p.status).toBe(409);
    expect(p.detail).toMatch(/exp-1 is already running on placement "home_banner"/);
    // Its own entry does not count against it, and a draft may wait on a busy placement.
    expect(
      applyUpdate('exp-1', started, valid({ status: 'running' }), [{ experimentId: 'exp-1' }], later).status,
    ).toBe('running');
    expect(applyUpdate('exp-2', undefined, valid(), [{ experimentId: 'exp-1' }], now).status).toBe('draft');
  });

  it('picks one running experiment per placement even if two ever run (first started wins)', () => {
    const at = (id: string, startedAt: string, status = 'running', placement = 'home_banner') =>
      ({ ...valid({ status, placement }), experimentId: id, startedAt }) as StoredExperiment;
    const all = [
      at('late', '2026-06-02T00:00:00Z'),
      at('early', '2026-06-01T00:00:00Z'),
      at('stopped', '2026-05-01T00:00:00Z', 'stopped'),
      at('other', '2026-05-01T00:00:00Z', 'running', 'footer'),
    ];
    expect(runningAt(all, 'home_banner')?.experimentId).toBe('early');
    expect(runningAt(all, 'footer')?.experimentId).toBe('other');
    expect(runningAt(all, 'nowhere')).toBeUndefined();
  });
});

describe('promotion door', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');

  it('needs a placement and a person', () => {
    const r = parseWith(promotionQuerySchema, { placement: 'home_banner' });
    expect(r.ok ? [] : r.errors).toEqual([{ path: 'userId', message: 'userId or anonymousId is required' }]);
    const bad = parseWith(promotionQuerySchema, {
      anonymousId: 'a',
      placement: 'x y',
      channel: 'fax',
      cb: '1',
    });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(['placement', 'channel']);
  });

  it('reads personalization and analytics from a token for the userId or the anonymousId', () => {
    const token = (sub: string, pur: ('analytics' | 'personalization')[], at = now) =>
      issueConsentToken(key, sub, pur, at, 30).token;
    const both = { userId: 'u1', anonymousId: 'a1' };
    expect(promotionConsent(key, token('a1', ['analytics', 'personalization']), both, now)).toEqual({
      personalization: true,
      analytics: true,
    });
    expect(promotionConsent(key, token('u1', ['personalization']), both, now)).toEqual({
      personalization: true,
      analytics: false,
    });
    const none = { personalization: false, analytics: false };
    expect(promotionConsent(key, undefined, both, now)).toEqual(none);
    expect(promotionConsent(key, 'forged', both, now)).toEqual(none);
    expect(promotionConsent(key, token('u2', ['personalization']), both, now)).toEqual(none);
    expect(
      promotionConsent(key, token('u1', ['personalization'], new Date('2026-01-01T00:00:00Z')), both, now),
    ).toEqual(none);
  });

  it('builds a valid exposure envelope with an id fixed per person and experiment', () => {
    const event = exposureEvent({
      experimentId: 'exp-1',
      variant: 'B',
      placement: 'home_banner',
      goal: { type: 'custom', name: 'signup' },
      personKey: 'u1',
      userId: 'u1',
      anonymousId: 'a1',
      channel: 'web',
      sourceId: 'src_1',
      now,
    });
    expect(decodeCanonical(JSON.stringify(event))).toMatchObject({ ok: true });
    expect(event).toMatchObject({
      type: 'exposure',
      door: 'promotion',
      personKey: 'u1',
      experimentId: 'exp-1',
      variant: 'B',
      deviceType: 'other',
      data: { placement: 'home_banner', goal: { type: 'custom', name: 'signup' } },
      eventTime: now.toISOString(),
    });
    expect(event.eventId).toBe(exposureEventId('exp-1', 'u1'));
    expect(exposureEventId('exp-1', 'u1')).toMatch(/^x-[A-Za-z0-9_-]{32}$/);
    expect(exposureEventId('exp-1', 'u2')).not.toBe(event.eventId);
    expect(exposureEventId('exp-2', 'u1')).not.toBe(event.eventId);
  });

  it('matches goal events by type, and custom ones by name when given', () => {
    expect(meetsGoal({ type: 'conversion' }, { type: 'conversion', data: {} })).toBe(true);
    expect(meetsGoal({ type: 'conversion' }, { type: 'click', data: {} })).toBe(false);
    expect(meetsGoal({ type: 'custom', name: 'signup' }, { type: 'custom', data: { name: 'signup' } })).toBe(
      true,
    );
    expect(meetsGoal({ type: 'custom', name: 'signup' }, { type: 'custom', data: { name: 'other' } })).toBe(
      false,
    );
    expect(meetsGoal({ type: 'custom' }, { type: 'custom', data: { name: 'other' } })).toBe(true);
  });
});
