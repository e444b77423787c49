import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minimiseProperties, piiKind } from '../../functions/core/pii';

const key = Buffer.from('k'.repeat(32));

describe('personal data in properties', () => {
  it('recognises e-mail addresses, phone numbers and card numbers', () => {
    expect(piiKind('jane.doe@example.com')).toBe('email');
    expect(piiKind('contact me at jane@example.org please')).toBe('email');
    expect(piiKind('+33 6 12 34 56 78')).toBe('phone');
    expect(piiKind('(415) 555-0132')).toBe('phone');
    expect(piiKind('4111 1111 1111 1111')).toBe('card');
    expect(piiKind('4111111111111111')).toBe('card');
  });

  it('leaves ordinary values alone', () => {
    for (const v of [
      '2026-06-01T10:00:00Z',
      '2026-06-01',
      'home',
      '12345',
      '4111111111111112',
      '@handle',
      'v1.2.3',
      '42.5',
    ])
      expect([v, piiKind(v)]).toEqual([v, undefined]);
  });

  it('rejects with the path, or hashes consistently, or lets through, by mode', () => {
    const props = {
      plan: 'pro',
      contact: { email: 'x', note: 'jane@example.com' },
      list: ['+1 415 555 0132'],
    };
    const rejected = minimiseProperties(props, 'reject', key);
    expect(rejected.errors.map((e) => e.path).sort()).toEqual([
      'properties.contact.email',
      'properties.contact.note',
      'properties.list.0',
    ]);
    const hashed = minimiseProperties(props, 'hash', key);
    expect(hashed.errors).toEqual([]);
    expect(hashed.value.plan).toBe('pro');
    expect(JSON.stringify(hashed.value)).not.toMatch(/jane|555/);
    expect(minimiseProperties(props, 'hash', key).value).toEqual(hashed.value);
    expect(props.contact.note).toBe('jane@example.com');
    expect(minimiseProperties(props, 'off', key)).toEqual({ errors: [], value: props });
  });

  it('never lets an e-mail address through in hash or reject mode, wherever it sits', () => {
    fc.assert(
      fc.property(
        fc.emailAddress(),
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
        (email, path) => {
          let props: Record<string, unknown> = { v: email };
          for (const k of path) props = { [k]: props };
          expect(minimiseProperties(props, 'reject', key).errors).toHaveLength(1);
          expect(JSON.stringify(minimiseProperties(props, 'hash', key).value)).not.toContain(email);
        },
      ),
    );
  });
});
