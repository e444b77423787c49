import { Aws, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_COLUMNS, ARCHIVE_EVENTS_PREFIX, ARCHIVE_PARTITIONS } from '../../functions/core/archive';
import { archive } from '../archive';

export interface ArchiveProps {
  readonly stage: string;
  /** The archive bucket (lib/buckets.ts): Parquet under `events/`, expiring with pulse:retentionDays. */
  readonly bucket: s3.IBucket;
  /** The exports bucket: the workgroup's query results go under `athena-results/` (7-day expiry). */
  readonly resultsBucket: s3.IBucket;
  readonly logGroup: logs.ILogGroup;
}

/** Where the workgroup writes query results, in the exports bucket. */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

/**
 * The archive (docs/archive.md): a Glue database and table over the archive bucket's Parquet, with
 * partition projection on `dt`/`hour` (no crawler, no partitions to add), an Athena workgroup that
 * enforces its results location (SSE-S3) and a per-query bytes-scanned cutoff, and — once
 * `deliver` is called with the stream and the transformation function — a Firehose delivery stream
 * reading the stream, transforming each buffer, converting it to Parquet against the Glue table,
 * and writing it to the event's partition.
 */
export class Archive extends Construct {
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly workgroup: athena.CfnWorkGroup;
  readonly databaseName: string;
  readonly workgroupName: string;
  deliveryStream: firehose.CfnDeliveryStream | undefined;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ArchiveProps,
  ) {
    super(scope, id);
    this.databaseName = `pulse_${props.stage.replaceAll('-', '_')}`;
    this.workgroupName = `pulse-${props.stage}`;
    const location = `s3://${props.bucket.bucketName}/${ARCHIVE_EVENTS_PREFIX}`;
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'Pulse: the archive of canonical events' },
    });
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: archive.table,
        tableType: 'EXTERNAL_TABLE',
        description: 'Every admitted canonical event (functions/core/archive.ts)',
        partitionKeys: ARCHIVE_PARTITIONS.map((name) => ({ name, type: 'string' })),
        parameters: {
          classification: 'parquet',
          // Partition projection: Athena computes the partitions of a `dt` range itself.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2024-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `${location}dt=\${dt}/hour=\${hour}/`,
        },
        storageDescriptor: {
          location,
          columns: ARCHIVE_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    this.table.addDependency(this.database);
    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workgroupName,
      description: 'Pulse analyses and exports over the archive',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: archive.athena.bytesScannedCutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${props.resultsBucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /** ARNs an Athena caller needs on the catalog: what lib/access.ts `analytics: 'query'` grants. */
  get grantTargets(): { workgroupArn: string; catalogArns: string[] } {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    return {
      workgroupArn: stack.formatArn({
        service: 'athena',
        resource: 'workgroup',
        resourceName: this.workgroupName,
      }),
      catalogArns: [
        arn('catalog'),
        arn('database', this.databaseName),
        arn('table', `${this.databaseName}/${archive.table}`),
      ],
    };
  }

  /** The delivery stream: the event stream → the transformation → Parquet in the archive bucket. */
  deliver(stream: kinesis.IStream, transform: lambda.IFunction): firehose.CfnDeliveryStream {
    const { bucket, logGroup } = this.props;
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'Firehose: read the event stream, transform, convert against Glue, write the archive',
    });
    const allow = (actions: string[], resources: string[]) =>
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    allow(
      ['kinesis:DescribeStream', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
      [stream.streamArn],
    );
    if (stream.encryptionKey) stream.encryptionKey.grantDecrypt(role);
    allow(
      ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      [bucket.bucketArn],
    );
    allow(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], [bucket.arnForObjects('*')]);
    allow(['lambda:GetFunctionConfiguration', 'lambda:InvokeFunction'], [transform.functionArn]);
    allow(['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'], this.grantTargets.catalogArns);
    const logStream = new logs.LogStream(this, 'DeliveryLogs', {
      logGroup,
      logStreamName: 'archive-delivery',
    });
    allow(['logs:PutLogEvents'], [`${logGroup.logGroupArn.replace(/:\*$/, '')}:log-stream:archive-delivery`]);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId)}.Arn>/*]`,
      reason:
        'Firehose writes objects whose keys it chooses (partition, time, random suffix) in this one bucket.',
    });
    const delivery = new firehose.CfnDeliveryStream(this, 'Delivery', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: stream.streamArn, roleArn: role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: `${ARCHIVE_EVENTS_PREFIX}dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/`,
        errorOutputPrefix: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/',
        bufferingHints: {
          sizeInMBs: archive.buffering.aws.sizeBytes / 1024 / 1024,
          intervalInSeconds: archive.buffering.aws.intervalMs / 1000,
        },
        // Parquet compresses itself (SNAPPY below); format conversion requires this.
        compressionFormat: 'UNCOMPRESSED',
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'Lambda',
              parameters: [
                { parameterName: 'LambdaArn', parameterValue: transform.functionArn },
                { parameterName: 'BufferSizeInMBs', parameterValue: String(archive.transform.bufferSizeMiB) },
                {
                  parameterName: 'BufferIntervalInSeconds',
                  parameterValue: String(archive.transform.bufferIntervalSeconds),
                },
                { parameterName: 'NumberOfRetries', parameterValue: '3' },
              ],
            },
          ],
        },
        dataFormatConversionConfiguration: {
          enabled: true,
          inputFormatConfiguration: { deserializer: { openXJsonSerDe: {} } },
          outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
          schemaConfiguration: {
            catalogId: Aws.ACCOUNT_ID,
            databaseName: this.databaseName,
            tableName: archive.table,
            region: Aws.REGION,
            roleArn: role.roleArn,
            versionId: 'LATEST',
          },
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    // Firehose checks its permissions when it is created: the role's policy first.
    delivery.node.addDependency(role.node.findChild('DefaultPolicy'));
    delivery.addDependency(this.table);
    Validations.of(delivery).acknowledge({
      id: 'AwsSolutions-KDF1',
      reason:
        'A delivery stream reading a Kinesis stream takes that stream’s encryption (Firehose refuses SSE on it); ' +
        'the stream is encrypted, and the archive bucket is SSE-S3.',
    });
    this.deliveryStream = delivery;
    return delivery;
  }
}
