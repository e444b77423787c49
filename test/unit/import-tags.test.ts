import { describe, expect, it } from 'vitest';
import { ImportTags } from '../../functions/adapters/import-tags';
import { keyedIdHash } from '../../functions/core/signing';
import { tooManyTags } from '../../functions/core/tags';

const key = Buffer.from('k'.repeat(32));

/** ImportTags over in-memory stand-ins: what it asks of the tags path, in which order. */
const setup = (
  opts: { links?: Record<string, string>; erased?: Record<string, { resumedAt?: string }> } = {},
) => {
  const calls: string[] = [];
  const importTags = new ImportTags({
    tags: {
      changeManualTags: async (person, change) => {
        // Adding is slow, removing quick: run side by side, a later removal would land first.
        await new Promise((r) => setTimeout(r, change.add.length > 0 ? 5 : 0));
        if (change.add.includes('overflow')) throw tooManyTags('manualTags', 101);
        if (change.add.includes('boom')) throw new Error('table unavailable');
        calls.push(`${person}+${change.add.join('+')}-${change.remove.join('-')}`);
      },
    },
    identity: { resolvePerson: async (id) => opts.links?.[id] ?? id },
    consent: {
      erasedAmong: async (hashes) =>
        new Map(
          Object.entries(opts.erased ?? {})
            .map(([id, m]) => [keyedIdHash(key, id), m] as const)
            .filter(([h]) => hashes.includes(h)),
        ),
    },
    key: async () => key,
  });
  return { importTags, calls };
};

describe('imported manual tags', () => {
  it("applies one person's rows in line order, under the person an id resolves to", async () => {
    const { importTags, calls } = setup({ links: { 'anon-1': 'slow' } });
    const refused = await importTags.apply(
      [
        { line: 2, userId: 'anon-1', add: ['vip'], remove: [] },
        { line: 3, userId: 'other', add: ['a'], remove: [] },
        { line: 4, userId: 'slow', add: [], remove: ['vip'] },
      ],
      new Date(),
    );
    expect(refused.size).toBe(0);
    expect(calls.filter((c) => c.startsWith('slow'))).toEqual(['slow+vip-', 'slow+-vip']);
  });

  it('refuses erased people (unless they consented again) and rows over the limit; other errors throw', async () => {
    const { importTags, calls } = setup({
      erased: { gone: {}, back: { resumedAt: '2026-01-01T00:00:00Z' } },
    });
    const refused = await importTags.apply(
      [
        { line: 2, userId: 'gone', add: ['vip'], remove: [] },
        { line: 3, userId: 'back', add: ['vip'], remove: [] },
        { line: 4, userId: 'full', add: ['overflow'], remove: [] },
      ],
      new Date(),
    );
    expect(Object.fromEntries(refused)).toEqual({
      2: ['The person was erased: an import does not tag them again'],
      4: ['A person carries at most 100 manual tags; this would make 101'],
    });
    expect(calls).toEqual(['back+vip-']);
    await expect(
      importTags.apply([{ line: 5, userId: 'x', add: ['boom'], remove: [] }], new Date()),
    ).rejects.toThrow('table unavailable');
  });
});
