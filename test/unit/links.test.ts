import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clickConsent,
  clickEvent,
  linkBodySchema,
  readLink,
  redirectLocation,
  signLink,
} from '../../functions/core/links';
import { openToken, sealToken, signToken } from '../../functions/core/signing';
import { parseWith } from '../../functions/core/zod';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const otherKey = Buffer.from('fedcba9876543210fedcba9876543210');
const now = new Date('2026-06-10T15:30:00.000Z');
const body = {
  url: 'https://shop.example/a?b=c',
  campaignId: 'mail-1',
  userId: 'u1',
  channel: 'email' as const,
};

describe('link tokens', () => {
  it('round-trip url, campaign, user and expiry (90 days unless told)', () => {
    const { token, expiresAt } = signLink(key, body, now);
    expect(expiresAt).toBe('2026-09-08T15:30:00.000Z');
    expect(readLink(key, token, now)).toMatchObject({ url: body.url, cmp: 'mail-1', sub: 'u1', ch: 'email' });
    expect(signLink(key, { ...body, expiresInDays: 1 }, now).expiresAt).toBe('2026-06-11T15:30:00.000Z');
  });

  it('refuse another key, another kind, expiry, tampering and non-http URLs', () => {
    const { token } = signLink(key, body, now);
    expect(readLink(otherKey, token, now)).toBeUndefined();
    expect(readLink(key, token, new Date('2026-09-08T15:30:00.000Z'))).toBeUndefined();
    const claims = { url: 'javascript:alert(1)', cmp: 'c', sub: 'u', ch: 'email', iat: 0, exp: 2e9 };
    expect(readLink(key, signToken(key, 'plk1', claims), now)).toBeUndefined();
    expect(readLink(key, signToken(key, 'pct1', { ...claims, url: body.url }), now)).toBeUndefined();
    expect(readLink(key, signToken(key, 'plk1', { ...claims, url: body.url, sub: 7 }), now)).toBeUndefined();
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        fc.pre(changed !== token);
        expect(readLink(key, changed, now)).toBeUndefined();
      }),
    );
  });

  it('are made only for absolute http(s) URLs', () => {
    for (const url of [
      'javascript:alert(1)',
      '//evil.example',
      '/relative',
      'ftp://x.example/',
      'https://',
      'data:text/html,x',
    ])
      expect(parseWith(linkBodySchema, { ...body, url }).ok, url).toBe(false);
    expect(parseWith(linkBodySchema, { ...body, url: 'http://x.example/' }).ok).toBe(true);
    expect(parseWith(linkBodySchema, { ...body, channel: 'sms' }).ok).toBe(false);
    const { channel: _c, ...noChannel } = body;
    expect(parseWith(linkBodySchema, noChannel)).toMatchObject({ ok: true, value: { channel: 'email' } });
  });
});

describe('sealed link tokens', () => {
  it('are opaque: neither the user, the campaign nor the URL can be read from them', () => {
    const { token } = signLink(key, { ...body, userId: 'maria@example.com' }, now);
    expect(token.startsWith('plk2.')).toBe(true);
    const bytes = Buffer.from(token.slice('plk2.'.length), 'base64url');
    for (const text of [bytes.toString('latin1'), bytes.toString('utf8'), token])
      for (const secret of ['maria', 'mail-1', 'shop.example', '"sub"'])
        expect(text.includes(secret), secret).toBe(false);
    expect(readLink(key, token, now)?.sub).toBe('maria@example.com');
    // Two links with the same claims are two different tokens (a fresh IV each).
    expect(signLink(key, body, now).token).not.toBe(signLink(key, body, now).token);
  });

  it('still follow plk1 links sent before, until they expire', () => {
    const iat = Math.floor(now.getTime() / 1000);
    const legacy = signToken(key, 'plk1', {
      url: body.url,
      cmp: 'mail-1',
      sub: 'u1',
      ch: 'email',
      iat,
      exp: iat + 60,
    });
    expect(readLink(key, legacy, now)).toMatchObject({ url: body.url, sub: 'u1' });
    expect(readLink(key, legacy, new Date(now.getTime() + 60_000))).toBeUndefined();
  });

  it('open only under their key and kind, and refuse any change', () => {
    const token = sealToken(key, 'plk2', { a: 1 });
    expect(openToken(key, 'plk2', token)).toEqual({ a: 1 });
    expect(openToken(otherKey, 'plk2', token)).toBeUndefined();
    expect(openToken(key, 'plk2', `${token}.x`)).toBeUndefined();
    expect(openToken(key, 'plk2', token.replace('plk2.', 'plk1.'))).toBeUndefined();
    expect(openToken(key, 'plk2', 'plk2.')).toBeUndefined();
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        fc.pre(changed !== token);
        expect(openToken(key, 'plk2', changed)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('link URLs', () => {
  it('are normalised when made: IDN hosts in punycode, non-ASCII paths percent-encoded', () => {
    const { token } = signLink(key, { ...body, url: 'https://例え.jp/パス?q=値#frag' }, now);
    expect(readLink(key, token, now)?.url).toBe('https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%E5%80%A4#frag');
    expect(parseWith(linkBodySchema, { ...body, url: 'https://bücher.example/ä' }).ok).toBe(true);
  });

  it('redirect an old plk1 link naming a raw IDN URL to its normalised form', () => {
    const iat = Math.floor(now.getTime() / 1000);
    const legacy = signToken(key, 'plk1', {
      url: 'https://例え.jp/',
      cmp: 'c',
      sub: 'u',
      ch: 'email',
      iat,
      exp: iat + 60,
    });
    expect(readLink(key, legacy, now)?.url).toBe('https://xn--r8jz45g.jp/');
  });

  it('refuse control characters and what would not make a header value', () => {
    for (const url of [
      'https://shop.example/a\nb',
      'https://shop.example/a\rb',
      '\thttps://shop.example/',
      'https://shop.example/\u0000',
      'https://shop.example/\u007f',
      'https://shop.example/\u0085',
      `https://shop.example/${'ü'.repeat(400)}`, // 2,421 characters once percent-encoded
    ])
      expect(parseWith(linkBodySchema, { ...body, url }).ok, JSON.stringify(url)).toBe(false);
  });

  it('always give a valid location header, or none (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({ withFragments: true, withQueryParameters: true }),
          fc.string({ unit: 'binary' }).map((s) => `https://shop.example/${s}`),
          fc.string({ unit: 'binary' }).map((s) => `https://${s}/`),
          fc.string({ unit: 'binary' }),
        ),
        (url) => {
          const location = redirectLocation(url);
          if (location === undefined) return;
          expect(() => validateHeaderValue('location', location)).not.toThrow();
          expect(location).toMatch(/^https?:\/\/[^/]/);
          expect(redirectLocation(location)).toBe(location);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('link clicks', () => {
  const claims = { url: body.url, cmp: 'mail-1', sub: 'u1', ch: 'email' as const, iat: 0, exp: 2e9 };

  it('are email clicks of the campaign, one per link and minute', () => {
    const e = clickEvent(claims, 'tok', { userId: 'u1' }, now);
    expect(e).toMatchObject({
      type: 'click',
      personKey: 'u1',
      userId: 'u1',
      campaignId: 'mail-1',
      channel: 'email',
      deviceType: 'other',
      data: { elementId: 'email-link' },
      door: 'link',
      eventTime: now.toISOString(),
    });
    const id = (t: string, token = 'tok') => clickEvent(claims, token, { userId: 'u1' }, new Date(t)).eventId;
    expect(id('2026-06-10T15:30:59.999Z')).toBe(e.eventId);
    expect(id('2026-06-10T15:31:00.000Z')).not.toBe(e.eventId);
    expect(id('2026-06-10T15:30:10.000Z', 'other')).not.toBe(e.eventId);
  });

  it('are recorded when some id grants analytics and none refuses it', () => {
    const grant = { purposes: { analytics: true } };
    const refuse = { purposes: { analytics: false, marketing: true } };
    const ids = ['u1', 'a1', 'a2'];
    expect(clickConsent('u1', ids, new Map())).toEqual({ record: false });
    expect(clickConsent('u1', ids, new Map([['u1', grant]]))).toEqual({ record: true });
    expect(clickConsent('u1', ids, new Map([['a2', grant]]))).toEqual({ record: true, anonymousId: 'a2' });
    expect(
      clickConsent(
        'u1',
        ids,
        new Map([
          ['u1', grant],
          ['a1', refuse],
        ]),
      ),
    ).toEqual({ record: false });
    expect(clickConsent('u1', ids, new Map([['u1', { purposes: {} }]]))).toEqual({ record: false });
  });
});
