/**
 * Data minimisation for event properties: values that look like e-mail addresses, phone
 * numbers or payment card numbers — or sit under keys named for them — are refused, or
 * replaced by a keyed hash (still joinable, not reversible without the key), or let through,
 * by configuration (`PULSE_PII_MODE`: reject | hash | off). Pure.
 */
import { createHmac } from 'node:crypto';
import type { FieldError } from './problem';

export type PiiMode = 'reject' | 'hash' | 'off';
export type PiiKind = 'email' | 'phone' | 'card';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[A-Za-z]{2,}$/;
const EMAIL_INSIDE = /[^\s@<>()]{1,64}@[^\s@<>()]{1,255}\.[A-Za-z]{2,}/;
const ISO_DATE = /^\d{4}-\d\d-\d\d/;
const SENSITIVE_KEY =
  /^(e-?mail(_?address)?|phone(_?number)?|mobile|msisdn|tel(ephone)?|card(_?number)?|cc_?num(ber)?|pan|iban|ssn)$/i;

const luhn = (digits: string): boolean => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
};

/** What kind of personal data a string looks like, if any. */
export const piiKind = (value: string): PiiKind | undefined => {
  if (value.includes('@') && (EMAIL.test(value) || EMAIL_INSIDE.test(value))) return 'email';
  // Digits with the separators people write them with; dates are not phone numbers.
  if (!/^[+\d\s().-]{7,30}$/.test(value) || ISO_DATE.test(value)) return undefined;
  const digits = value.replace(/\D/g, '');
  if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) return 'card';
  if (digits.length >= 8 && digits.length <= 15 && (/^\+/.test(value) || /[\s().-]/.test(value)))
    return 'phone';
  return undefined;
};

const MESSAGES: Record<PiiKind | 'key', string> = {
  email: 'Looks like an e-mail address: personal data is not accepted in properties',
  phone: 'Looks like a phone number: personal data is not accepted in properties',
  card: 'Looks like a payment card number: not accepted in properties',
  key: 'This property name is reserved for personal data, which is not accepted in properties',
};

export const hashPii = (key: Uint8Array, value: unknown): string =>
  `hmac:${createHmac('sha256', key).update('pii\u0000').update(String(value)).digest('base64url').slice(0, 32)}`;

/**
 * Apply the mode to properties: errors (reject) or a copy with such values hashed (hash).
 * Walks at most the validated depth; returns the input itself when nothing matched.
 */
export const minimiseProperties = (
  properties: Record<string, unknown>,
  mode: PiiMode,
  key: Uint8Array | undefined,
  path = 'properties',
): { errors: FieldError[]; value: Record<string, unknown> } => {
  const errors: FieldError[] = [];
  if (mode === 'off') return { errors, value: properties };
  const walk = (v: unknown, at: string, sensitiveKey: boolean): unknown => {
    if (typeof v === 'string' || typeof v === 'number') {
      const kind = sensitiveKey ? 'key' : typeof v === 'string' ? piiKind(v) : undefined;
      if (!kind) return v;
      if (mode === 'reject' || !key) {
        errors.push({ path: at, message: MESSAGES[kind] });
        return v;
      }
      return hashPii(key, v);
    }
    if (Array.isArray(v)) {
      let changed = false;
      const out = v.map((item, i) => {
        const next = walk(item, `${at}.${i}`, sensitiveKey);
        changed ||= next !== item;
        return next;
      });
      return changed ? out : v;
    }
    if (v && typeof v === 'object') {
      let out: Record<string, unknown> | undefined;
      for (const [k, item] of Object.entries(v)) {
        const next = walk(item, `${at}.${k}`, SENSITIVE_KEY.test(k));
        if (next !== item) {
          out ??= { ...(v as Record<string, unknown>) };
          out[k] = next;
        }
      }
      return out ?? v;
    }
    return v;
  };
  const value = walk(properties, path, false) as Record<string, unknown>;
  return { errors, value };
};
