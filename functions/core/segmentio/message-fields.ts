/**
 * Reading the loosely typed fields of Segment messages: SDKs send ids as numbers or strings,
 * amounts as numeric strings, and nest what Pulse reads under `context`. Each reader answers a
 * usable value or undefined, never throws. Pure.
 */
import { FIELD_LIMITS } from '../events';

export type Props = Record<string, unknown>;

/** Longest id or name Pulse takes from a message field. */
export const ID_MAX = FIELD_LIMITS.personId;

export const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

export const isPlainObject = (v: unknown): v is Props =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value under a path of plain objects, else undefined. */
export const at = (obj: unknown, ...path: string[]): unknown => {
  let v = obj;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Props)[key];
  }
  return v;
};

/** A string field of at most `max` characters (numbers in their decimal form), else undefined. */
export const textOf = (v: unknown, max: number): string | undefined => {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  return s.length > 0 && s.length <= max ? s : undefined;
};
export const firstText = (max: number, ...values: unknown[]): string | undefined => {
  for (const v of values) {
    const s = textOf(v, max);
    if (s !== undefined) return s;
  }
  return undefined;
};
/** A number, or a numeric string as some SDKs send amounts; else undefined. */
export const numberOf = (v: unknown, min: number, max: number): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
};
export const firstNumber = (min: number, max: number, ...values: unknown[]): number | undefined => {
  for (const v of values) {
    const n = numberOf(v, min, max);
    if (n !== undefined) return n;
  }
  return undefined;
};
export const currencyOf = (v: unknown): string | undefined =>
  typeof v === 'string' && /^[A-Za-z]{3}$/.test(v.trim()) ? v.trim().toUpperCase() : undefined;

export const idOf = (v: unknown): string | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v !== '' ? v : undefined;
