import { describe, expect, it } from 'vitest';
import { Problem } from '../../functions/core/problem';
import { isTag, parseTagsBody, sortTags, tagSchema } from '../../functions/core/tags';

const problem = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(Problem);
    return (error as Problem).toBody();
  }
  throw new Error('expected a problem');
};

describe('tags', () => {
  it('follow the grammar [a-z0-9_:-]{1,64}', () => {
    for (const ok of ['vip', 'frequent_viewer', 'early:2026', 'a-b', '0', 'x'.repeat(64)])
      expect(isTag(ok), ok).toBe(true);
    for (const bad of ['', 'VIP', 'a b', 'a#b', 'é', 'x'.repeat(65), 'a.b'])
      expect(isTag(bad), bad).toBe(false);
  });

  it('bodies: distinct tags in order; errors name the field; a long list is 413', () => {
    expect(parseTagsBody({ tags: ['b', 'a', 'b'] })).toEqual(['b', 'a']);
    expect(parseTagsBody({ tags: [] })).toEqual([]);
    expect(problem(() => parseTagsBody({ tags: ['ok', 'Not OK'] }))).toMatchObject({
      status: 400,
      errors: [{ path: 'tags.1' }],
    });
    expect(problem(() => parseTagsBody({}))).toMatchObject({
      errors: [{ path: 'tags', message: 'Required' }],
    });
    expect(problem(() => parseTagsBody(undefined))).toMatchObject({ errors: [{ path: 'tags' }] });
    expect(problem(() => parseTagsBody({ tags: ['a'], extra: 1 }))).toMatchObject({ status: 400 });
    expect(
      problem(() => parseTagsBody({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) })),
    ).toMatchObject({
      status: 413,
      code: 'payload_too_large',
      limit: 'tags',
      maxTags: 100,
    });
  });

  it('path parameters', () => {
    expect(tagSchema.safeParse('vip').success).toBe(true);
    expect(tagSchema.safeParse('NOPE').success).toBe(false);
    expect(tagSchema.safeParse(undefined).success).toBe(false);
  });

  it('sort by tag, then source', () => {
    const at = '2026-01-01T00:00:00.000Z';
    expect(
      sortTags([
        { tag: 'b', source: 'manual', setAt: at },
        { tag: 'a', source: 'rule:r1', setAt: at },
        { tag: 'a', source: 'manual', setAt: at },
      ]).map((t) => `${t.tag}/${t.source}`),
    ).toEqual(['a/manual', 'a/rule:r1', 'b/manual']);
  });
});
