import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONSENT_EXPIRY_GRACE_MS,
  checkConsent,
  issueConsentToken,
  readConsentToken,
} from '../../functions/core/consent';
import { keyedIdHash, signToken, verifyToken } from '../../functions/core/signing';
import { personalDataRegistry } from '../../functions/privacy/registry';
import { tableList } from '../../lib/tables';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const otherKey = Buffer.from('fedcba9876543210fedcba9876543210');
const now = new Date('2026-06-01T12:00:00Z');
const event = (over: Record<string, string> = {}) => ({
  userId: 'u1',
  eventTime: now.toISOString(),
  receivedAt: now.toISOString(),
  ...over,
});
const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('consent tokens', () => {
  it('round-trips the subject, purposes and expiry', () => {
    const { token, expiresAt } = issueConsentToken(key, 'u1', ['analytics'], now, 30);
    expect(readConsentToken(key, token)).toMatchObject({ sub: 'u1', pur: ['analytics'] });
    expect(expiresAt).toBe('2026-07-01T12:00:00.000Z');
  });

  it('accepts a token for the userId or the anonymousId, with analytics, unexpired at the event time', () => {
    const { token } = issueConsentToken(key, 'anon-1', ['analytics'], now, 30);
    expect(checkConsent(key, token, event({ anonymousId: 'anon-1' }))).toEqual({ ok: true });
    expect(checkConsent(key, token, event())).toMatchObject({ ok: false, code: 'consent_invalid' });
  });

  it('names the reason for each refusal', () => {
    const good = issueConsentToken(key, 'u1', ['analytics'], now, 30).token;
    const marketingOnly = issueConsentToken(key, 'u1', ['marketing'], now, 30).token;
    const cases: [string | undefined, Record<string, string>, string][] = [
      [undefined, {}, 'consent_required'],
      [marketingOnly, {}, 'consent_invalid'],
      [issueConsentToken(otherKey, 'u1', ['analytics'], now, 30).token, {}, 'consent_invalid'],
      // Expired at the event's time: the event happened 31 days after the token was issued.
      [good, { eventTime: '2026-07-02T12:00:00.000Z' }, 'consent_invalid'],
      [good, { userId: 'u2' }, 'consent_invalid'],
    ];
    for (const [token, over, code] of cases)
      expect(checkConsent(key, token, event(over))).toMatchObject({ ok: false, code });
    // Issued after the event but valid: consent given at the banner covers queued events.
    expect(checkConsent(key, good, event({ eventTime: '2026-05-20T00:00:00.000Z' }))).toEqual({ ok: true });
  });

  it('judges expiry against the receipt time: back-dated events do not revive an expired token', () => {
    // Issued 40 days ago for 30 days: it expired 10 days before receipt.
    const expired = issueConsentToken(key, 'u1', ['analytics'], new Date(now.getTime() - 40 * day), 30).token;
    const backDated = event({ eventTime: iso(now.getTime() - 11 * day) });
    expect(checkConsent(key, expired, backDated)).toMatchObject({
      ok: false,
      code: 'consent_invalid',
      errors: [{ path: 'consentToken', message: expect.stringContaining('expired') }],
    });
    // Nor any back-dating, however far: the receipt time is what the client cannot set.
    for (const days of [10.5, 20, 29, 39]) {
      const verdict = checkConsent(key, expired, event({ eventTime: iso(now.getTime() - days * day) }));
      expect(verdict.ok, `${days} days back`).toBe(false);
    }
  });

  it('takes events queued offline before expiry for a bounded grace after it, never longer', () => {
    const issued = now.getTime() - 30 * day;
    const token = issueConsentToken(key, 'u1', ['analytics'], new Date(issued), 30).token;
    const expiry = issued + 30 * day; // = now
    const queued = iso(expiry - 3600_000);
    // Received within the grace after expiry: the event happened while the token was live.
    expect(
      checkConsent(
        key,
        token,
        event({ eventTime: queued, receivedAt: iso(expiry + CONSENT_EXPIRY_GRACE_MS - 1) }),
      ),
    ).toEqual({ ok: true });
    // One millisecond past the grace: refused, however the event is dated.
    expect(
      checkConsent(
        key,
        token,
        event({ eventTime: queued, receivedAt: iso(expiry + CONSENT_EXPIRY_GRACE_MS) }),
      ).ok,
    ).toBe(false);
    // Within the grace, but dated after the expiry: the token did not cover it.
    expect(
      checkConsent(key, token, event({ eventTime: iso(expiry + 60_000), receivedAt: iso(expiry + 120_000) }))
        .ok,
    ).toBe(false);
    expect(CONSENT_EXPIRY_GRACE_MS).toBeLessThan(10 * day);
  });

  it('tells a caller without a token how to get one', () => {
    const verdict = checkConsent(key, undefined, event());
    expect(verdict).toMatchObject({ ok: false, code: 'consent_required' });
    expect(verdict.ok ? '' : verdict.errors[0]?.message).toContain('PUT /api/users/{id}/consent');
  });

  it('never verifies a token that was altered, of another kind, or made up (fuzz)', () => {
    const { token } = issueConsentToken(key, 'u1', ['analytics'], now, 30);
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        if (altered !== token) expect(readConsentToken(key, altered)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), (s, payload) => {
        expect(readConsentToken(key, s)).toBeUndefined();
        expect(verifyToken(key, 'pct1', signToken(key, 'plk1', { payload }))).toBeUndefined();
        const verdict = checkConsent(key, s, event());
        expect(verdict.ok).toBe(false);
      }),
    );
  });

  it('keys id hashes, so they differ by key and never contain the id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3 }), (id) => {
        expect(keyedIdHash(key, id)).not.toBe(keyedIdHash(otherKey, id));
        expect(keyedIdHash(key, id)).not.toContain(id);
      }),
    );
  });
});

describe('the registry of personal data', () => {
  // Stores touch their dependencies only when they export or erase.
  const registry = personalDataRegistry({
    db: undefined as never,
    tableNames: {} as never,
    consent: undefined as never,
    failures: undefined,
    tags: undefined as never,
    experiments: undefined as never,
    key,
    archive: undefined,
  });

  it('claims every table that holds personal data, and only those', () => {
    const claimed = new Set(registry.flatMap((s) => s.tables));
    expect([...claimed].sort()).toEqual(
      tableList
        .filter((t) => t.personalData)
        .map((t) => t.name)
        .sort(),
    );
    expect(registry.map((s) => s.name)).toContain('failures');
    // The archive claims no table: its rows are files in the archive bucket.
    expect(registry.find((s) => s.name === 'archive')?.tables).toEqual([]);
  });

  it('answers erasure and export under the same store names, in the same order', () => {
    // Part of the HTTP contract: `deleted` and `stores` are keyed by these names.
    expect(registry.map((s) => s.name)).toEqual([
      'profile',
      'consent',
      'quarantine',
      'tags',
      'variants',
      'failures',
      'archive',
      'outbox',
    ]);
  });
});
