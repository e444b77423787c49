/** The pure parts of the console's API (issue 18): the campaign list's order and cursor, experiment admin. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeOffset,
  encodeOffset,
  lastActivityOf,
  sortCampaigns,
} from '../../functions/core/campaign-list';
import { assertDeletable, filterExperiments, withStatus } from '../../functions/core/experiment-admin';
import type { StoredExperiment } from '../../functions/core/experiments';
import { Problem } from '../../functions/core/problem';

const campaign = fc.record({
  campaignId: fc.stringMatching(/^[a-z]{1,6}$/),
  lastActivity: fc.option(fc.constantFrom('2026-06-01T10:00:00.000Z', '2026-06-02T10:00:00.000Z'), {
    nil: undefined,
  }),
  events: fc.nat(50),
  uniqueUsers: fc.nat(20),
});

describe('campaign list', () => {
  it('sorts by the asked key, ties by campaignId, and keeps every campaign once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(campaign, { selector: (c) => c.campaignId, maxLength: 20 }),
        fc.constantFrom('lastActivity', 'events', 'uniqueUsers', 'campaignId') as fc.Arbitrary<
          'lastActivity' | 'events' | 'uniqueUsers' | 'campaignId'
        >,
        fc.constantFrom('asc', 'desc') as fc.Arbitrary<'asc' | 'desc'>,
        (items, sort, order) => {
          const sorted = sortCampaigns(items, sort, order);
          expect(sorted.map((c) => c.campaignId).sort()).toEqual(items.map((c) => c.campaignId).sort());
          for (let i = 1; i < sorted.length; i++) {
            const [a, b] = [sorted[i - 1], sorted[i]] as [(typeof items)[number], (typeof items)[number]];
            if (sort === 'campaignId') {
              expect(order === 'asc' ? a.campaignId < b.campaignId : a.campaignId > b.campaignId).toBe(true);
              continue;
            }
            const [x, y] = [a[sort], b[sort]];
            if (x === undefined) expect(y).toBeUndefined();
            else if (y !== undefined && x !== y) expect(order === 'desc' ? x > y : x < y).toBe(true);
            else if (x === y) expect(a.campaignId < b.campaignId).toBe(true);
          }
        },
      ),
    );
  });

  it('defaults to the most recent first, and by name A to Z', () => {
    const items = [
      { campaignId: 'b', lastActivity: '2026-06-01T10:00:00.000Z' },
      { campaignId: 'a', lastActivity: '2026-06-02T10:00:00.000Z' },
      { campaignId: 'c' },
    ];
    expect(sortCampaigns(items, 'lastActivity').map((c) => c.campaignId)).toEqual(['a', 'b', 'c']);
    expect(sortCampaigns(items, 'campaignId').map((c) => c.campaignId)).toEqual(['a', 'b', 'c']);
  });

  it('pages by an opaque offset, and answers a forged cursor with a 400 naming it', () => {
    fc.assert(fc.property(fc.nat(1_000_000), (n) => decodeOffset(encodeOffset(n)) === n));
    expect(decodeOffset(undefined)).toBe(0);
    for (const bad of [
      'garbage',
      Buffer.from('{"o":-1}').toString('base64url'),
      Buffer.from('{"pk":"x","sk":"y"}').toString('base64url'),
    ]) {
      try {
        decodeOffset(bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(Problem);
        expect((error as Problem).status).toBe(400);
      }
    }
  });

  it('takes the last activity as the end of the latest quarter-hour of any shard', () => {
    expect(lastActivityOf(['2026-06-01T10:15', undefined, '2026-06-01T09:45'])).toBe(
      '2026-06-01T10:30:00.000Z',
    );
    expect(lastActivityOf([undefined])).toBeUndefined();
  });
});

const experiment = (over: Partial<StoredExperiment>): StoredExperiment => ({
  experimentId: 'x',
  placement: 'home',
  status: 'draft',
  variants: [
    { id: 'A', weight: 1, content: {} },
    { id: 'B', weight: 1, content: {} },
  ],
  targeting: {},
  coverage: 1,
  goal: { type: 'conversion' },
  version: 1,
  createdAt: '2026-06-01T00:00:00.000Z',
  updatedAt: '2026-06-01T00:00:00.000Z',
  ...over,
});

describe('experiment admin', () => {
  it('filters by status and placement, most recently changed first', () => {
    const all = [
      experiment({ experimentId: 'old', status: 'running', updatedAt: '2026-06-01T00:00:00.000Z' }),
      experiment({ experimentId: 'new', status: 'running', updatedAt: '2026-06-03T00:00:00.000Z' }),
      experiment({ experimentId: 'other', placement: 'footer', updatedAt: '2026-06-02T00:00:00.000Z' }),
    ];
    expect(filterExperiments(all, {}).map((e) => e.experimentId)).toEqual(['new', 'other', 'old']);
    expect(
      filterExperiments(all, { status: 'running', placement: 'home' }).map((e) => e.experimentId),
    ).toEqual(['new', 'old']);
    expect(filterExperiments(all, { placement: 'footer' }).map((e) => e.experimentId)).toEqual(['other']);
  });

  it('changes the status alone, keeping the definition, under the change rules', () => {
    const now = new Date('2026-06-05T00:00:00.000Z');
    const started = withStatus(experiment({}), 'running', [], now);
    expect(started).toMatchObject({
      status: 'running',
      version: 2,
      startedAt: now.toISOString(),
      variants: experiment({}).variants,
    });
    const stopped = withStatus(started, 'stopped', [], new Date('2026-06-06T00:00:00.000Z'));
    expect(stopped).toMatchObject({
      status: 'stopped',
      startedAt: now.toISOString(),
      stoppedAt: '2026-06-06T00:00:00.000Z',
    });
    expect(() => withStatus(stopped, 'draft', [], now)).toThrow(Problem);
    expect(() =>
      withStatus(experiment({ experimentId: 'y' }), 'running', [{ experimentId: 'x' }], now),
    ).toThrow(/already running/);
  });

  it('deletes only a draft that never ran', () => {
    expect(() => assertDeletable(experiment({}))).not.toThrow();
    expect(() =>
      assertDeletable(experiment({ status: 'stopped', startedAt: '2026-06-01T00:00:00.000Z' })),
    ).toThrow(Problem);
    expect(() => assertDeletable(experiment({ status: 'running' }))).toThrow(Problem);
  });
});
