/**
 * The stack's S3 buckets, declared once like lib/tables.ts: the CDK stack creates them, lib/access.ts
 * grants them per handler module, lib/environment.ts tells each function where its buckets are, and
 * the local stack gives each one a folder (with presigned URLs its object server answers). Plain
 * data, no aws-cdk-lib.
 */
import { ENV } from './config';

export type BucketName = 'failures' | 'archive' | 'exports' | 'imports';

/** How long an object lives: a deployment setting (lib/environment.ts FunctionSettings), or fixed days. */
export type BucketExpiry =
  | { readonly setting: 'failureRetentionDays' | 'retentionDays' }
  | { readonly days: number };

export interface BucketDef {
  readonly name: BucketName;
  /** The function's variable holding the bucket's name in AWS. */
  readonly envVar: string;
  /** The local stack's variable holding the folder that stands in for the bucket. */
  readonly localEnvVar: string;
  /** Objects hold event payloads or profile data: erasure and export must reach them. */
  readonly personalData: boolean;
  readonly expiry: BucketExpiry;
  readonly description: string;
}

const defs = {
  failures: {
    name: 'failures',
    envVar: ENV.failureBucket,
    localEnvVar: ENV.localFailureDir,
    personalData: true,
    expiry: { setting: 'failureRetentionDays' },
    description: "The stream consumers' on-failure destination: failed batches with their records",
  },
  archive: {
    name: 'archive',
    envVar: ENV.archiveBucket,
    localEnvVar: ENV.localArchiveDir,
    personalData: true,
    expiry: { setting: 'retentionDays' },
    description: 'Every admitted canonical event as Parquet, partitioned by UTC date and hour',
  },
  exports: {
    name: 'exports',
    envVar: ENV.exportsBucket,
    localEnvVar: ENV.localExportsDir,
    personalData: true,
    // Downloads are handed out by presigned URL; the files are copies, not a store of record.
    expiry: { days: 7 },
    description: 'Export jobs (archive extracts, query results) read through presigned URLs',
  },
  imports: {
    name: 'imports',
    envVar: ENV.importsBucket,
    localEnvVar: ENV.localImportsDir,
    personalData: true,
    // An upload is deleted when its job ends; a week covers a long resumed job. Erasure need not
    // scan these: transient, and an erased id's rows are refused (docs/traits.md, Privacy).
    expiry: { days: 7 },
    description: 'Uploaded bulk-import files (CSV, NDJSON), written through presigned URLs',
  },
} as const satisfies Record<BucketName, BucketDef>;

export const buckets: Readonly<Record<BucketName, BucketDef>> = defs;
export const bucketList: readonly BucketDef[] = Object.values(defs);
