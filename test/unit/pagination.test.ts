import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../functions/adapters/pagination';
import { Problem } from '../../functions/core/problem';

describe('cursors', () => {
  it('round-trip a key, and refuse anything that is not a pk/sk key of the queried partition', () => {
    const cursor = encodeCursor({ pk: 'campaigns', sk: 'spring' });
    expect(decodeCursor(cursor)).toEqual({ pk: 'campaigns', sk: 'spring' });
    expect(decodeCursor(cursor, 'campaigns')).toEqual({ pk: 'campaigns', sk: 'spring' });
    expect(decodeCursor(undefined)).toBeUndefined();
    for (const bad of [
      'garbage',
      encodeCursor({ pk: 'campaigns' }),
      encodeCursor({ pk: 'campaigns', sk: 1 }),
      encodeCursor({ pk: 'campaigns', sk: 's', extra: 'x' }),
    ])
      expect(() => decodeCursor(bad)).toThrow(Problem);
    // A cursor from another partition would make DynamoDB fail the Query: the client's 400.
    expect(() => decodeCursor(cursor, 'rules')).toThrow(Problem);
  });
});
