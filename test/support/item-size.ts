/**
 * An item's size as DynamoDB bills and limits it (400 KB): attribute names and values, strings
 * as UTF-8 bytes, binary as raw bytes, numbers by their digits. A close estimate for tests and the
 * bench, which check that items stay far from the limit.
 */
export const dynamoItemSize = (value: unknown): number => {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).length / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((n, v) => n + dynamoItemSize(v), 0);
  if (value instanceof Map)
    return 3 + [...value].reduce((n, [k, v]) => n + Buffer.byteLength(String(k)) + dynamoItemSize(v) + 1, 0);
  if (Array.isArray(value)) return 3 + value.reduce((n, v) => n + dynamoItemSize(v) + 1, 0);
  return 3 + Object.entries(value).reduce((n, [k, v]) => n + Buffer.byteLength(k) + dynamoItemSize(v) + 1, 0);
};
