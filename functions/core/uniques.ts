/**
 * Distinct persons per campaign bucket: an exact set of 8-byte person hashes while small,
 * a HyperLogLog sketch (p = 13, ~1.15 % standard error) once a bucket outgrows the exact cap,
 * so an item never outgrows DynamoDB's size limit. Unions over buckets are exact when every
 * bucket is; otherwise the answer is an estimate and says so. Pure.
 */
import { createHash, createHmac } from 'node:crypto';

export const HLL_P = 13;
export const HLL_M = 1 << HLL_P;
/** Beyond this many members a bucket's set turns into a sketch (8 KB of hashes). */
export const EXACT_CAP = 1000;

/**
 * 8 bytes of a hash of the person key: uniform, so also the sketch's hash. Keyed (HMAC) when
 * a key is given, as in the consumer, so the sets in the metrics table cannot be probed by
 * hashing candidate ids.
 */
export const personHash = (personKey: string, key?: Uint8Array): Buffer =>
  (key ? createHmac('sha256', key).update(personKey) : createHash('sha256').update(personKey))
    .digest()
    .subarray(0, 8);

export const emptySketch = (): Uint8Array => new Uint8Array(HLL_M);

export const addToSketch = (registers: Uint8Array, hash: Uint8Array): void => {
  const view = new DataView(hash.buffer, hash.byteOffset, 8);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const index = hi >>> (32 - HLL_P);
  // Rank: leading zeros of the 51 bits after the index, plus one.
  const rest = ((hi << HLL_P) >>> 0) >>> 0;
  let rank: number;
  if (rest !== 0) rank = Math.clz32(rest) + 1;
  else rank = 32 - HLL_P + Math.clz32(lo) + 1;
  if (rank > (registers[index] as number)) registers[index] = rank;
};

export const mergeSketches = (into: Uint8Array, from: Uint8Array): void => {
  for (let i = 0; i < HLL_M; i++) if ((from[i] as number) > (into[i] as number)) into[i] = from[i] as number;
};

export const estimateSketch = (registers: Uint8Array): number => {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < HLL_M; i++) {
    const r = registers[i] as number;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / HLL_M);
  const raw = (alpha * HLL_M * HLL_M) / sum;
  // Linear counting where the raw estimate is biased (small cardinalities).
  if (raw <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
  return Math.round(raw);
};

/** What a bucket holds: exact hashes, or a sketch. */
export type BucketUniques = { exact: Uint8Array[] } | { sketch: Uint8Array };

const hex = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');

/** The sketch of buckets' union (a sketch holds every register of the persons it saw). */
const sketchOf = (buckets: readonly BucketUniques[]): Uint8Array => {
  const registers = emptySketch();
  for (const b of buckets) {
    if ('sketch' in b) mergeSketches(registers, b.sketch);
    else for (const h of b.exact) addToSketch(registers, h);
  }
  return registers;
};

/** Buckets merged into one, as a bucket is kept: exact up to `cap` members, else a sketch. */
export const unionUniques = (buckets: readonly BucketUniques[], cap = EXACT_CAP): BucketUniques => {
  if (buckets.every((b) => 'exact' in b)) {
    const seen = new Map<string, Uint8Array>();
    for (const b of buckets as { exact: Uint8Array[] }[]) for (const h of b.exact) seen.set(hex(h), h);
    if (seen.size <= cap) return { exact: [...seen.values()] };
  }
  return { sketch: sketchOf(buckets) };
};

/** Distinct persons over buckets: exact when every bucket is exact. */
export const countUniques = (buckets: readonly BucketUniques[]): { count: number; estimated: boolean } => {
  if (buckets.every((b) => 'exact' in b)) {
    const seen = new Set<string>();
    for (const b of buckets as { exact: Uint8Array[] }[]) for (const h of b.exact) seen.add(hex(h));
    return { count: seen.size, estimated: false };
  }
  return { count: estimateSketch(sketchOf(buckets)), estimated: true };
};
