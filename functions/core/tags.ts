/**
 * Tags: their grammar, where a tag comes from (its source), and the bodies of the tag
 * routes. Pure.
 *
 * A person carries each tag once per source: `manual` (set by an admin), `rule:<ruleId>` (a
 * segment rule holds) or `model:<name>` (reserved for scoring). Sources never overwrite one
 * another: removing a manual tag leaves the same tag set by a rule in place, and the other way
 * round.
 */
import * as z from 'zod/mini';
import { Problem } from './problem';
import { parseWith } from './zod';

export const TAG_PATTERN = /^[a-z0-9_:-]{1,64}$/;
export const TAG_MESSAGE = 'Expected 1..64 characters of a-z, 0-9, _, : and -';
/** Tags in one PUT or POST body, and manual tags one person may carry. */
export const MAX_TAGS_PER_REQUEST = 100;
export const MAX_MANUAL_TAGS = 100;

export type TagSource = 'manual' | `rule:${string}` | `model:${string}`;

export interface PersonTag {
  tag: string;
  source: TagSource;
  /** When this source set the tag (kept while the source keeps it). */
  setAt: string;
}

export const isTag = (value: string): boolean => TAG_PATTERN.test(value);

export const tagSchema = z.string().check(z.regex(TAG_PATTERN, TAG_MESSAGE));

/** `PUT`/`POST /api/users/{userId}/tags` bodies (also the OpenAPI document's source). */
export const tagsBodySchema = z.strictObject({
  tags: z.array(tagSchema).check(z.maxLength(MAX_TAGS_PER_REQUEST)),
});

/**
 * `{"tags": [...]}` → the distinct tags, in order. Errors name the field (`tags.3`); a list
 * longer than the limit is 413 `payload_too_large` naming the limit, as every limit is answered (docs/api.md, Limits).
 */
export const parseTagsBody = (body: unknown): string[] => {
  const list = (body as { tags?: unknown } | null | undefined)?.tags;
  if (Array.isArray(list) && list.length > MAX_TAGS_PER_REQUEST) throw tooManyTags('tags', list.length);
  const parsed = parseWith(tagsBodySchema, body ?? {});
  if (!parsed.ok) throw new Problem(400, 'validation_failed', 'Invalid request body', parsed.errors);
  return [...new Set(parsed.value.tags)];
};

export const tooManyTags = (limit: 'tags' | 'manualTags', count: number): Problem =>
  new Problem(
    413,
    'payload_too_large',
    limit === 'tags'
      ? `A request sets at most ${MAX_TAGS_PER_REQUEST} tags, not ${count}`
      : `A person carries at most ${MAX_MANUAL_TAGS} manual tags; this would make ${count}`,
    [{ path: 'tags', message: `At most ${limit === 'tags' ? MAX_TAGS_PER_REQUEST : MAX_MANUAL_TAGS} tags` }],
    { members: { limit, maxTags: limit === 'tags' ? MAX_TAGS_PER_REQUEST : MAX_MANUAL_TAGS } },
  );

export const ruleSource = (ruleId: string): TagSource => `rule:${ruleId}`;

/** Tags sorted for answers: by tag, then by source. */
export const sortTags = (tags: readonly PersonTag[]): PersonTag[] =>
  [...tags].sort((a, b) => (a.tag === b.tag ? a.source.localeCompare(b.source) : a.tag < b.tag ? -1 : 1));
