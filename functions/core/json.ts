/** JSON hygiene for client-supplied objects: no prototype keys, bounded depth and width. Pure. */

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonLimits {
  maxDepth: number;
  maxKeys: number;
  maxStringLength: number;
}

/**
 * First problem found in a JSON value, with its path relative to the value, or undefined.
 * The path is built only on the way out of a failure, so a clean value allocates nothing;
 * recursion is bounded by `maxDepth`, so hostile nesting cannot overflow the stack.
 */
export const jsonHazard = (
  value: unknown,
  limits: JsonLimits,
): { path: (string | number)[]; message: string } | undefined => {
  const found = scan(value, limits, 0);
  if (found) found.path.reverse();
  return found;
};

const scan = (
  v: unknown,
  limits: JsonLimits,
  depth: number,
): { path: (string | number)[]; message: string } | undefined => {
  if (typeof v === 'string')
    return v.length > limits.maxStringLength
      ? { path: [], message: `String longer than ${limits.maxStringLength} characters` }
      : undefined;
  if (v === null || typeof v !== 'object') return undefined;
  if (depth >= limits.maxDepth) return { path: [], message: `Nested deeper than ${limits.maxDepth} levels` };
  if (Array.isArray(v)) {
    if (v.length > limits.maxKeys) return { path: [], message: `More than ${limits.maxKeys} items` };
    for (let i = 0; i < v.length; i++) {
      const found = scan(v[i], limits, depth + 1);
      if (found) {
        found.path.push(i);
        return found;
      }
    }
    return undefined;
  }
  let count = 0;
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    if (++count > limits.maxKeys) return { path: [], message: `More than ${limits.maxKeys} keys` };
    if (FORBIDDEN_KEYS.has(key)) return { path: [key], message: `Key "${key}" is not allowed` };
    const found = scan((v as Record<string, unknown>)[key], limits, depth + 1);
    if (found) {
      found.path.push(key);
      return found;
    }
  }
  return undefined;
};

/** Deterministic JSON (sorted keys) so equal content hashes equally whatever the key order. */
export const stableStringify = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
};
