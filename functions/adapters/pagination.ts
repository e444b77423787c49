/** Opaque cursors over DynamoDB's LastEvaluatedKey: base64url JSON, validated on the way back. */
import { Problem } from '../core/problem';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export const encodeCursor = (key: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

export const decodeCursor = (cursor: string | undefined): Record<string, unknown> | undefined => {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (entries.length > 0 && entries.every(([, v]) => typeof v === 'string' || typeof v === 'number'))
        return value as Record<string, unknown>;
    }
  } catch {
    // fall through to the 400 below
  }
  throw new Problem(400, 'validation_failed', 'Invalid cursor', [
    { path: 'cursor', message: 'Invalid cursor' },
  ]);
};
