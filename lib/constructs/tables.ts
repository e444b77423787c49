import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type TableDef, type TableName, tableList } from '../tables';

export interface PulseTablesProps {
  readonly deletionProtection: boolean;
  readonly removalPolicy: RemovalPolicy;
  /** Customer managed key (pulse:kmsKey=true); AWS managed (aws/dynamodb) otherwise. */
  readonly encryptionKey?: kms.IKey;
}

/** `metrics` -> `Metrics`: construct ids and output names. */
export const pascal = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');

const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/** Every table of lib/tables.ts, built from its definition: nothing here names a table. */
export class PulseTables extends Construct {
  readonly byName: ReadonlyMap<TableName, dynamodb.Table>;

  constructor(scope: Construct, id: string, props: PulseTablesProps) {
    super(scope, id);
    const byName = new Map<TableName, dynamodb.Table>();
    for (const def of tableList) byName.set(def.name as TableName, this.table(def, props));
    this.byName = byName;
  }

  get(name: TableName): dynamodb.Table {
    const table = this.byName.get(name);
    if (!table) throw new Error(`Unknown table '${name}'`);
    return table;
  }

  private table(def: TableDef, props: PulseTablesProps): dynamodb.Table {
    const table = new dynamodb.Table(this, def.constructId ?? pascal(def.name), {
      partitionKey: stringKey(def.partitionKey),
      ...(def.sortKey ? { sortKey: stringKey(def.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
    });
    for (const index of def.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: stringKey(index.partitionKey),
        ...(index.sortKey ? { sortKey: stringKey(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}
