/**
 * DynamoDB item sizes and write units, computed the way the DynamoDB Developer Guide states
 * ("DynamoDB item sizes and formats"; "Capacity unit consumption for write operations"), so the
 * bench can check what the emulator reports instead of trusting it:
 *
 *  - string: UTF-8 bytes; binary: raw bytes; number: about 1 byte per two significant digits + 1
 *    (see numberBytes); null and boolean: 1 byte; sets: the sum of their members;
 *  - list and map: 3 bytes + 1 byte per element + the elements (a map's keys count as names);
 *  - every attribute adds the UTF-8 bytes of its name;
 *  - a write costs 1 WU per started KB of the larger of the item before and after it (minimum 1);
 *    a write whose condition fails still costs the size of the existing item (minimum 1).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The guide: "approximately 1 byte per two significant digits, plus 1". Made exact the way
 * DynamoDB stores numbers (as dynalite models them too): a base-100 mantissa whose digit pairs are
 * aligned on the decimal point (110 = 1|10: two pairs, 3 bytes; 37: one pair, 2 bytes), one
 * exponent byte, and one more byte for a negative number.
 */
export const numberBytes = (n: string): number => {
  const negative = n.startsWith('-');
  const [mantissa = '', exponent = '0'] = n.replace(/^[+-]/, '').toLowerCase().split('e');
  const dot = mantissa.indexOf('.');
  let digits = mantissa.replace('.', '');
  // Power of ten just above the first digit: the decimal point's position.
  let point = (dot === -1 ? mantissa.length : dot) + Number(exponent);
  while (digits.startsWith('0')) {
    digits = digits.slice(1);
    point--;
  }
  digits = digits.replace(/0+$/, '');
  if (digits.length === 0) return 1;
  const highPair = Math.floor((point - 1) / 2);
  const lowPair = Math.floor((point - digits.length) / 2);
  return 1 + (highPair - lowPair + 1) + (negative ? 1 : 0);
};

export const valueBytes = (v: AttributeValue): number => {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberBytes(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + numberBytes(s), 0);
  if (v.BS !== undefined) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  if (v.L !== undefined) return v.L.reduce((n, e) => n + 1 + valueBytes(e), 3);
  if (v.M !== undefined) return Object.entries(v.M).reduce((n, [k, e]) => n + 1 + utf8(k) + valueBytes(e), 3);
  throw new Error(`unknown attribute type: ${Object.keys(v).join()}`);
};

export const itemBytes = (item: Record<string, AttributeValue> | undefined): number =>
  item ? Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + valueBytes(v), 0) : 0;

/** Write units of a successful write: the larger of the old and new item, per started KB, at least 1. */
export const writeUnits = (
  before: Record<string, AttributeValue> | undefined,
  after: Record<string, AttributeValue> | undefined,
): number => Math.max(1, Math.ceil(Math.max(itemBytes(before), itemBytes(after)) / 1024));

/** Write units of a write whose condition failed: the existing item, per started KB, at least 1. */
export const failedWriteUnits = (existing: Record<string, AttributeValue> | undefined): number =>
  Math.max(1, Math.ceil(itemBytes(existing) / 1024));
