/** Opaque cursors over DynamoDB's LastEvaluatedKey: base64url JSON, validated on the way back. */
import { Problem } from '../core/problem';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export const encodeCursor = (key: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/**
 * A cursor back into the key it encoded. Every table keys items by string `pk` and `sk`, and a
 * Query's cursor must be from the partition it queries (DynamoDB refuses anything else with an
 * error that would be a 500): given `partition`, a cursor of another one is the client's 400.
 */
export const decodeCursor = (
  cursor: string | undefined,
  partition?: string,
): Record<string, string> | undefined => {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const key = value as Record<string, unknown>;
      const shaped =
        Object.keys(key).sort().join(',') === 'pk,sk' &&
        typeof key.pk === 'string' &&
        typeof key.sk === 'string';
      if (shaped && (partition === undefined || key.pk === partition)) return key as Record<string, string>;
    }
  } catch {
    // fall through to the 400 below
  }
  throw new Problem(400, 'validation_failed', 'Invalid cursor', [
    { path: 'cursor', message: 'Invalid cursor' },
  ]);
};
