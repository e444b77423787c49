import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { aggregateConsumer, type ConsumerSettings, eventStream, streamConsumers } from '../../lib/stream';
import { type TableName, tableList } from '../../lib/tables';
import { resourcesOfType, synth } from '../support/synth';

const { json, stack, template, logicalId } = synth();

describe('DynamoDB tables', () => {
  it('are exactly the tables of lib/tables.ts', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', tableList.length);
  });

  it.each(tableList.map((t) => [t.name, t] as const))('%s matches its definition', (name, def) => {
    const id = logicalId(stack.tables.get(name as TableName));
    const table = json.Resources[id];
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    const props = table?.Properties ?? {};
    expect(props.KeySchema).toEqual([
      { AttributeName: def.partitionKey, KeyType: 'HASH' },
      ...(def.sortKey ? [{ AttributeName: def.sortKey, KeyType: 'RANGE' }] : []),
    ]);
    // String keys only: sequence numbers and composite keys never meet a Number attribute.
    for (const attr of props.AttributeDefinitions as { AttributeType: string }[]) {
      expect(attr.AttributeType).toBe('S');
    }
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // SSE on with no key of ours: the AWS managed aws/dynamodb key (not the AWS owned default).
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(props.DeletionProtectionEnabled).toBe(SETTING_DEFAULTS.deletionProtection);
    expect(props.TimeToLiveSpecification).toEqual(
      def.ttlAttribute ? { AttributeName: def.ttlAttribute, Enabled: true } : undefined,
    );
    expect(
      (props.GlobalSecondaryIndexes as { IndexName: string }[] | undefined)?.map((i) => i.IndexName) ?? [],
    ).toEqual(def.indexes.map((i) => i.name));
    // Data outlives the stack unless pulse:removalPolicy=destroy.
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.UpdateReplacePolicy).toBe('Retain');
  });

  it('keep the logical id they were deployed under when renamed (a new one replaces the table)', () => {
    // `experiments` was deployed as `variants`: its logical id must not move (docs/migrations.md).
    expect(logicalId(stack.tables.get('experiments'))).toMatch(/^TablesVariants[0-9A-F]{8}$/);
  });
});

describe('Kinesis stream', () => {
  it('is encrypted with the AWS managed key, on demand, with the declared retention', () => {
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: eventStream.retentionHours,
      ShardCount: Match.absent(),
    });
  });

  // Issue #21: a destroyed stage must not leave a stream billing by the hour; issue #11: records in
  // the stream are personal data erasure cannot reach, so they live no longer than needed.
  it('is deleted with the stack even when the data is retained, and keeps records 24 hours', () => {
    expect(SETTING_DEFAULTS.removalPolicy).toBe('retain');
    const [[, streamResource] = []] = resourcesOfType(json, 'AWS::Kinesis::Stream');
    expect(streamResource?.DeletionPolicy).toBe('Delete');
    expect(streamResource?.UpdateReplacePolicy).toBe('Delete');
    expect(streamResource?.Properties.RetentionPeriodHours).toBe(24);
    // A record about to leave the stream goes to the on-failure bucket rather than vanishing.
    for (const c of streamConsumers) expect(c.maxRecordAgeSeconds).toBe(24 * 3600);
  });
});

describe('stream consumers', () => {
  it('have one event source mapping each', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', streamConsumers.length);
  });

  it.each(streamConsumers.map((c) => [c.name, c] as const))(
    '%s uses exactly the settings of lib/stream.ts',
    (_, c) => {
      const fn = stack.functions.get(c.handler);
      if (!fn) throw new Error(`no function for ${c.handler}`);
      const fnId = logicalId(fn.fn);
      const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
        ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === fnId,
      );
      expect(mappings).toHaveLength(1);
      // Every property but the stack-wide tags.
      const { Tags: _tags, ...props } = mappings[0]?.[1].Properties ?? {};
      expect(props).toEqual({
        FunctionName: { Ref: fnId },
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.eventStream.stream), 'Arn'] },
        BatchSize: c.batchSize,
        MaximumBatchingWindowInSeconds: c.maxBatchingWindowSeconds,
        BisectBatchOnFunctionError: c.bisectBatchOnError,
        MaximumRetryAttempts: c.retryAttempts,
        MaximumRecordAgeInSeconds: c.maxRecordAgeSeconds,
        ...(c.reportBatchItemFailures ? { FunctionResponseTypes: ['ReportBatchItemFailures'] } : {}),
        ParallelizationFactor: c.parallelizationFactor,
        StartingPosition: c.startingPosition,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.aggregation.failureBucket), 'Arn'] } },
        },
        // Feeds the on-failure and dropped-records alarms (alarms.test.ts).
        MetricsConfig: { Metrics: ['EventCount'] },
      });
    },
  );
});

describe('stream consumers: one writer per shard', () => {
  it('run every event source mapping with ParallelizationFactor 1 (or absent: 1 is the default)', () => {
    const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(0);
    for (const [, m] of mappings) expect(m.Properties.ParallelizationFactor ?? 1).toBe(1);
  });

  it('cannot be declared with another factor (lib/stream.ts types it as 1)', () => {
    // @ts-expect-error: exactly-once needs one invocation per shard at a time
    const parallel: ConsumerSettings = { ...aggregateConsumer, parallelizationFactor: 2 };
    expect(parallel.parallelizationFactor).toBe(2);
  });
});

describe('on-failure bucket', () => {
  const bucketId = logicalId(stack.aggregation.failureBucket);
  const logBucketId = logicalId(stack.aggregation.accessLogBucket);

  it('is encrypted, private, expiring, and logs access to the separate log bucket', () => {
    const props = json.Resources[bucketId]?.Properties;
    expect(props?.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(props?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props?.LifecycleConfiguration).toEqual({
      Rules: [{ ExpirationInDays: SETTING_DEFAULTS.failureRetentionDays, Status: 'Enabled' }],
    });
    expect(props?.VersioningConfiguration).toBeUndefined();
    expect(props?.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucketId },
      LogFilePrefix: 'failure-bucket/',
    });
  });

  it.each([
    ['failure', () => bucketId],
    ['access log', () => logBucketId],
  ])('%s bucket refuses plain HTTP', (_, id) => {
    const policies = resourcesOfType(json, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => (p.Properties.Bucket as { Ref: string }).Ref === id(),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]?.[1].Properties.PolicyDocument).toMatchObject({
      Statement: expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Principal: { AWS: '*' },
        }),
      ]),
    });
  });
});

describe('Cognito', () => {
  it('has an admin-only, strongly protected user pool', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
    });
  });

  it('has the role groups', () => {
    const groups = resourcesOfType(json, 'AWS::Cognito::UserPoolGroup').map(
      ([, g]) => g.Properties.GroupName,
    );
    expect(groups.sort()).toEqual(['admin', 'analyst']);
  });

  it('has a public client for initiate-auth (USER_PASSWORD_AUTH and SRP)', () => {
    // console (issue 18): and the console's Hosted UI client (test/infra/console.test.ts).
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 2);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayEquals([
        'ALLOW_USER_PASSWORD_AUTH',
        'ALLOW_USER_SRP_AUTH',
        'ALLOW_REFRESH_TOKEN_AUTH',
      ]),
      PreventUserExistenceErrors: 'ENABLED',
    });
  });
});

describe('outputs', () => {
  it('name the API, the pool, the client, the stream, every table, the bucket, topic and secret', () => {
    const names = Object.keys(json.Outputs ?? {});
    expect(names).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'UserPoolId',
        'UserPoolClientId',
        'StreamName',
        'FailureBucketName',
        'AlarmTopicArn',
        'SigningSecretArn',
        ...tableList.map((t) => `${t.name[0]?.toUpperCase()}${t.name.slice(1)}TableName`),
      ]),
    );
  });
});
