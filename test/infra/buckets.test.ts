import { describe, expect, it } from 'vitest';
import { accessFor } from '../../lib/access';
import { bucketList, buckets } from '../../lib/buckets';
import { SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { allHandlerModules, resourcesOfType, synth } from '../support/synth';

const { json, stack, logicalId } = synth();

const expiryDays = (name: keyof typeof buckets): number => {
  const { expiry } = buckets[name];
  return 'days' in expiry ? expiry.days : SETTING_DEFAULTS[expiry.setting];
};

describe('the buckets of lib/buckets.ts', () => {
  it('are all in the stack, and the failure bucket is the stream consumers’ own', () => {
    expect([...stack.buckets.byName.keys()].sort()).toEqual(bucketList.map((b) => b.name).sort());
    expect(stack.buckets.byName.get('failures')).toBe(stack.aggregation.failureBucket);
    // The access-log bucket, the console's, and one per declaration.
    expect(resourcesOfType(json, 'AWS::S3::Bucket').length).toBe(bucketList.length + 2);
  });

  it.each(bucketList.filter((b) => b.name !== 'failures').map((b) => [b.name] as const))(
    '%s is private, SSE-S3, TLS only, access-logged and expires as declared',
    (name) => {
      const id = logicalId(stack.buckets.byName.get(name) as never);
      const bucket = json.Resources[id];
      const props = bucket?.Properties ?? {};
      expect(props.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(props.LifecycleConfiguration).toEqual({
        Rules: [
          { ExpirationInDays: expiryDays(name), Status: 'Enabled' },
          { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
        ],
      });
      expect(props.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logicalId(stack.aggregation.accessLogBucket) },
        LogFilePrefix: `${name}-bucket/`,
      });
      expect(bucket?.DeletionPolicy).toBe('Retain');
      const policies = resourcesOfType(json, 'AWS::S3::BucketPolicy').filter(
        ([, p]) => (p.Properties.Bucket as { Ref: string }).Ref === id,
      );
      expect(JSON.stringify(policies[0]?.[1].Properties.PolicyDocument)).toContain(
        '"aws:SecureTransport":"false"',
      );
    },
  );

  it('follow pulse:retentionDays where declared so', () => {
    const custom = synth({ context: { 'pulse:retentionDays': '120' } });
    const id = custom.logicalId(custom.stack.buckets.byName.get('archive') as never);
    expect(custom.json.Resources[id]?.Properties.LifecycleConfiguration).toMatchObject({
      Rules: [{ ExpirationInDays: 120, Status: 'Enabled' }, expect.anything()],
    });
  });

  it('are reachable only by the modules lib/access.ts grants, and every personal one by privacy', () => {
    for (const def of bucketList.filter((b) => b.personalData)) {
      expect(accessFor('privacy/privacy').buckets?.[def.name], def.name).toBe('readWrite');
    }
    for (const m of allHandlerModules()) {
      const env = json.Resources[logicalId(stack.functions.get(m)?.fn as never)]?.Properties.Environment as {
        Variables: Record<string, unknown>;
      };
      for (const def of bucketList) {
        expect(env.Variables[def.envVar] !== undefined, `${m} knows ${def.name}`).toBe(
          accessFor(m).buckets?.[def.name] !== undefined,
        );
      }
    }
  });
});
