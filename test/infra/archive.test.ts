/**
 * The archive in the template: Firehose reads the stream, transforms with the archive function,
 * converts to Parquet against the Glue table and writes by event date/hour; the Glue table is the
 * archive row (functions/core/archive.ts) with projected partitions; the Athena workgroup enforces
 * encrypted results and a bytes-scanned cutoff; the delivery role holds exactly what it needs.
 * (The buckets themselves — encryption, TLS only, lifecycle by pulse:retentionDays — are in
 * buckets.test.ts; the functions' Athena grants in access.test.ts; cdk-nag in compliance.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ARCHIVE_COLUMNS } from '../../functions/core/archive';
import { archive } from '../../lib/archive';
import type { Statement } from '../support/iam';
import { resourcesOfType, synth } from '../support/synth';

// biome-ignore lint/suspicious/noExplicitAny: template JSON, checked by expect()
type Json = Record<string, any>;

const { json, stack, logicalId } = synth();
const one = (type: string) => {
  const found = resourcesOfType(json, type);
  expect(found, type).toHaveLength(1);
  return (found[0] as (typeof found)[number])[1];
};
const archiveBucket = logicalId(stack.buckets.byName.get('archive') as never);
const exportsBucket = logicalId(stack.buckets.byName.get('exports') as never);
const transformFn = logicalId(stack.functions.get(archive.transform.handler)?.fn as never);

describe('the archive', () => {
  const delivery = one('AWS::KinesisFirehose::DeliveryStream').Properties as Json;
  const s3 = delivery.ExtendedS3DestinationConfiguration;

  it('is delivered by Firehose reading the event stream', () => {
    expect(delivery.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(delivery.KinesisStreamSourceConfiguration.KinesisStreamARN).toEqual({
      'Fn::GetAtt': [logicalId(stack.eventStream.stream), 'Arn'],
    });
    expect(s3.BucketARN).toEqual({ 'Fn::GetAtt': [archiveBucket, 'Arn'] });
  });

  it('transforms every buffer with the archive function, and partitions by its keys', () => {
    const processor = s3.ProcessingConfiguration.Processors[0];
    expect(processor.Type).toBe('Lambda');
    expect(processor.Parameters).toContainEqual({
      ParameterName: 'LambdaArn',
      ParameterValue: { 'Fn::GetAtt': [transformFn, 'Arn'] },
    });
    expect(s3.DynamicPartitioningConfiguration.Enabled).toBe(true);
    expect(s3.Prefix).toBe('events/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/');
    expect(s3.ErrorOutputPrefix).toMatch(/^errors\//);
    expect(s3.BufferingHints).toEqual({ SizeInMBs: 64, IntervalInSeconds: 300 });
  });

  it('converts to Parquet against the Glue table', () => {
    const conversion = s3.DataFormatConversionConfiguration;
    expect(conversion.Enabled).toBe(true);
    expect(conversion.InputFormatConfiguration).toEqual({ Deserializer: { OpenXJsonSerDe: {} } });
    expect(conversion.OutputFormatConfiguration).toEqual({
      Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } },
    });
    expect(conversion.SchemaConfiguration).toMatchObject({
      DatabaseName: stack.archive.databaseName,
      TableName: archive.table,
    });
  });

  it('has a Glue table of exactly the archive row, partitioned by dt and hour with projection', () => {
    const table = one('AWS::Glue::Table').Properties as Json;
    const input = table.TableInput;
    expect(input.StorageDescriptor.Columns).toEqual(
      ARCHIVE_COLUMNS.map((c) => ({ Name: c.name, Type: c.type })),
    );
    expect(input.PartitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ]);
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toMatch(/ParquetHiveSerDe$/);
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.hour.type': 'integer',
      'projection.hour.digits': '2',
    });
    expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
      `events/dt=${'$'}{dt}/hour=${'$'}{hour}/`,
    );
  });

  it('has an Athena workgroup with encrypted results and a per-query bytes-scanned cutoff', () => {
    const wg = one('AWS::Athena::WorkGroup').Properties as Json;
    const config = wg.WorkGroupConfiguration;
    expect(config.EnforceWorkGroupConfiguration).toBe(true);
    expect(config.BytesScannedCutoffPerQuery).toBe(archive.athena.bytesScannedCutoff);
    expect(config.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_S3' });
    expect(JSON.stringify(config.ResultConfiguration.OutputLocation)).toContain(exportsBucket);
  });

  it('gives the delivery role only the stream, the archive bucket, the function, the table and its logs', () => {
    const roleId = logicalId(stack.archive.node.findChild('DeliveryRole') as never);
    const statements = resourcesOfType(json, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual(
      [
        'glue:GetTable',
        'glue:GetTableVersion',
        'glue:GetTableVersions',
        'kinesis:DescribeStream',
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
        'kinesis:ListShards',
        'lambda:GetFunctionConfiguration',
        'lambda:InvokeFunction',
        'logs:PutLogEvents',
        's3:AbortMultipartUpload',
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
      ].sort(),
    );
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
    const role = json.Resources[roleId]?.Properties as Json;
    expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'firehose.amazonaws.com',
    });
  });
});
