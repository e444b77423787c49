/** Sources and their write keys: the schema of a new source, key minting and hashing. Pure. */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { CHANNELS } from './events';
import './zod';

export const SOURCE_KINDS = ['client', 'server'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/**
 * Events per second of a new source unless set. An app's public key needs headroom for its
 * busiest minute: Amplitude's HTTP API allows a Starter project 1,000 events/s (and 30/s per
 * device), Segment takes up to 100,000 events/s across a workspace's sources before it queues.
 * 1,000/s is Amplitude's project figure, about 60,000 events a minute (tens of thousands of
 * active users); server sources and busy apps are configured higher.
 */
export const DEFAULT_RATE_LIMIT = 1000;

/** The highest configurable limit: Segment's workspace-wide figure (the limiter shards past 1,000/s). */
export const MAX_RATE_LIMIT = 100_000;

export const newSourceSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  channel: z.enum(CHANNELS),
  kind: z._default(z.enum(SOURCE_KINDS), 'client'),
  /** Events per second this source may send. */
  rateLimit: z._default(z.int().check(z.gte(1), z.lte(MAX_RATE_LIMIT)), DEFAULT_RATE_LIMIT),
});
export type NewSource = z.infer<typeof newSourceSchema>;

export interface Source extends NewSource {
  sourceId: string;
  createdAt: string;
  revokedAt?: string;
}

/** Write keys are random; only their SHA-256 is stored. The prefix tells a key's kind at a glance. */
export const mintWriteKey = (kind: SourceKind): string =>
  `${kind === 'client' ? 'pk' : 'sk'}_${randomBytes(24).toString('base64url')}`;

export const hashWriteKey = (writeKey: string): string => createHash('sha256').update(writeKey).digest('hex');

/** `src_` and 12 base64url characters as minted; a little room for ids minted otherwise. */
export const sourceIdSchema = z
  .string()
  .check(z.regex(/^src_[A-Za-z0-9_-]{1,64}$/, 'Expected a source id (src_…)'));

export const newSourceId = (): string => `src_${randomBytes(9).toString('base64url')}`;
