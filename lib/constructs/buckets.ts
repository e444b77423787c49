import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type BucketDef, type BucketName, bucketList } from '../buckets';
import { pascal } from './tables';

export interface DataBucketsProps {
  /** The buckets created elsewhere (the on-failure bucket belongs to the stream consumers). */
  readonly existing: ReadonlyMap<BucketName, s3.IBucket>;
  /** Where server access logs go (who read, wrote or deleted objects). */
  readonly accessLogBucket: s3.IBucket;
  /** Days for the expiries that follow a setting. */
  readonly days: Readonly<Record<'failureRetentionDays' | 'retentionDays', number>>;
  readonly removalPolicy: RemovalPolicy;
}

const expiryDays = (def: BucketDef, days: DataBucketsProps['days']): number =>
  'days' in def.expiry ? def.expiry.days : days[def.expiry.setting];

/**
 * Every bucket of lib/buckets.ts the stack does not create elsewhere: private, SSE-S3, TLS only,
 * ACLs disabled, access-logged, and expiring by their declaration — they hold personal data, so the
 * store stays bounded and erasable. `byName` is what lib/access.ts grants are made on.
 */
export class DataBuckets extends Construct {
  readonly byName: ReadonlyMap<BucketName, s3.IBucket>;

  constructor(scope: Construct, id: string, props: DataBucketsProps) {
    super(scope, id);
    const byName = new Map(props.existing);
    for (const def of bucketList) {
      if (byName.has(def.name)) continue;
      byName.set(
        def.name,
        new s3.Bucket(this, `${pascal(def.name)}Bucket`, {
          encryption: s3.BucketEncryption.S3_MANAGED,
          enforceSSL: true,
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
          versioned: false,
          lifecycleRules: [
            { expiration: Duration.days(expiryDays(def, props.days)) },
            { abortIncompleteMultipartUploadAfter: Duration.days(1) },
          ],
          serverAccessLogsBucket: props.accessLogBucket,
          serverAccessLogsPrefix: `${def.name}-bucket/`,
          removalPolicy: props.removalPolicy,
        }),
      );
    }
    this.byName = byName;
  }
}
