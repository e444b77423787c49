/**
 * IAM for the local stack: every AWS call a handler makes (through functions/adapters/aws.ts), and
 * its use of the local signing key and failure folder, is held to the handler module's lib/access.ts
 * entry — the same actions on the same resources its role gets in AWS. A call outside it fails as
 * IAM would, with an AccessDeniedException, so a handler touching an undeclared table fails on the
 * laptop before it fails in AWS.
 *
 * Calls made outside an invocation (the stack's own set-up, tests, bin/local.ts) are not a
 * function's and are not checked.
 */

import { type AwsRequest, registerRequestCheck } from '../../functions/adapters/aws';
import {
  access,
  BUCKET_ACTIONS,
  DESTINATION_SECRET_ACTIONS,
  destinationSecretPrefix,
  type ModuleAccess,
  SECRET_ACTIONS,
  type SecretName,
  STREAM_ACTIONS,
  TABLE_ACCESS_USES_INDEXES,
  TABLE_ACTIONS,
} from '../access';
import type { BucketName } from '../buckets';
import { ENV } from '../config';
import { EVENT_BUS_ACTIONS, eventBusArn } from '../event-buses';
import { type TableName, tables } from '../tables';
import { currentInvocation, LOCAL_ACCOUNT_ID } from './lambda';

/** Locally a secret is the variable holding its value: that is the `SecretId` a check names. */
const LOCAL_SECRETS: Readonly<Record<string, SecretName>> = {
  [ENV.localSigningKey]: 'signing',
  // traits: the CRM connectors' token file (docs/traits.md)
  [ENV.localCrmSecretFile]: 'crm',
};

export interface AccessGuardTargets {
  readonly region: string;
  readonly tables: Readonly<Record<TableName, string>>;
  readonly stream: string;
  readonly streamArn: string;
  /** The folders standing in for the buckets of lib/buckets.ts (each one's `Bucket` in checked requests). */
  readonly bucketDirs: Readonly<Partial<Record<BucketName, string>>>;
  /** The stage whose destination secrets functions may reach (lib/access.ts destinationSecretPrefix). */
  readonly stage: string;
  /** eventbridge destinations: the ARNs of the buses a module declaring `eventBuses` may put events on. */
  readonly eventBusArns?: readonly string[];
}

/** What IAM answers for a denied call; the SDK's own errors carry the same name and fault. */
export class AccessDeniedException extends Error {
  override readonly name = 'AccessDeniedException';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
}

/** One resource a request touches, with the action IAM evaluates on it. */
interface Touch {
  readonly action: string;
  readonly arn: string;
  readonly allowed: (decl: ModuleAccess) => boolean;
}

const service = (action: string) => action.slice(0, action.indexOf(':'));

/** Per-item actions of a DynamoDB transaction, as IAM authorizes them. */
const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

export const startAccessGuard = (targets: AccessGuardTargets): (() => void) => {
  const logicalTable = new Map(Object.entries(targets.tables).map(([logical, name]) => [name, logical]));
  const tableArn = (name: string) => `arn:aws:dynamodb:${targets.region}:${LOCAL_ACCOUNT_ID}:table/${name}`;

  const tableTouch = (action: string, tableName: unknown, index?: unknown): Touch => {
    const name = String(tableName);
    const logical = logicalTable.get(name) as TableName | undefined;
    const arn = index === undefined ? tableArn(name) : `${tableArn(name)}/index/${String(index)}`;
    return {
      action,
      arn,
      allowed: (decl) => {
        const level = logical ? decl.tables?.[logical] : undefined;
        if (!logical || !level || !TABLE_ACTIONS[level].includes(action)) return false;
        return (
          index === undefined ||
          (TABLE_ACCESS_USES_INDEXES[level] && tables[logical].indexes.some((i) => i.name === index))
        );
      },
    };
  };

  const dynamoTouches = ({ action, input }: AwsRequest): Touch[] => {
    if (typeof input.TableName === 'string') return [tableTouch(action, input.TableName, input.IndexName)];
    if (input.RequestItems && typeof input.RequestItems === 'object') {
      return Object.keys(input.RequestItems).map((name) => tableTouch(action, name));
    }
    if (Array.isArray(input.TransactItems)) {
      return (input.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
        Object.entries(item).map(([kind, op]) =>
          tableTouch(TRANSACT_ITEM_ACTIONS[kind] ?? action, op?.TableName),
        ),
      );
    }
    // ListTables and the like act on no table: nothing in lib/access.ts grants them.
    return [{ action, arn: '*', allowed: () => false }];
  };

  const kinesisTouch = ({ action, input }: AwsRequest): Touch => {
    const arn = typeof input.StreamARN === 'string' ? input.StreamARN : undefined;
    const name = typeof input.StreamName === 'string' ? input.StreamName : arn?.split('/').pop();
    const ours = name === targets.stream;
    return {
      action,
      arn: arn ?? (ours ? targets.streamArn : `stream/${name}`),
      allowed: (decl) => ours && !!decl.stream && STREAM_ACTIONS[decl.stream].includes(action),
    };
  };

  const secretTouch = ({ action, input }: AwsRequest): Touch => {
    // Destinations (docs/destinations.md): credentials under the stage's prefix, one per destination.
    if (String(input.SecretId).startsWith(destinationSecretPrefix(targets.stage))) {
      return {
        action,
        arn: `arn:aws:secretsmanager:${targets.region}:${LOCAL_ACCOUNT_ID}:secret:${String(input.SecretId)}`,
        allowed: (decl) =>
          !!decl.destinationSecrets && DESTINATION_SECRET_ACTIONS[decl.destinationSecrets].includes(action),
      };
    }
    const name = LOCAL_SECRETS[String(input.SecretId)];
    return {
      action,
      arn: `arn:aws:secretsmanager:${targets.region}:${LOCAL_ACCOUNT_ID}:secret:${String(input.SecretId)}`,
      allowed: (decl) => !!name && !!decl.secrets?.includes(name) && SECRET_ACTIONS.includes(action),
    };
  };

  const bucketByDir = new Map(
    (Object.entries(targets.bucketDirs) as [BucketName, string][]).map(([name, dir]) => [dir, name]),
  );
  const bucketTouch = ({ action, input }: AwsRequest): Touch => {
    const name = bucketByDir.get(String(input.Bucket));
    const onObject = input.Key !== undefined;
    return {
      action,
      arn: `arn:aws:s3:::${String(input.Bucket)}${onObject ? `/${String(input.Key)}` : ''}`,
      allowed: (decl) => {
        const level = name && decl.buckets?.[name];
        if (!level) return false;
        const granted = BUCKET_ACTIONS[level];
        return (onObject ? granted.objects : granted.bucket).includes(action);
      },
    };
  };

  // eventbridge destinations: every bus a PutEvents call names (the default bus when an entry names none).
  const allowedBuses = new Set(targets.eventBusArns ?? []);
  const busTouches = ({ action, input }: AwsRequest): Touch[] => {
    const where = { partition: 'aws', region: targets.region, account: LOCAL_ACCOUNT_ID };
    const buses = (Array.isArray(input.Entries) ? (input.Entries as { EventBusName?: string }[]) : []).map(
      (e) => eventBusArn(e.EventBusName || 'default', where),
    );
    return [...new Set(buses)].map((arn) => ({
      action,
      arn,
      allowed: (decl) => !!decl.eventBuses && EVENT_BUS_ACTIONS.includes(action) && allowedBuses.has(arn),
    }));
  };

  const touches = (request: AwsRequest): Touch[] => {
    switch (service(request.action)) {
      case 'events':
        return busTouches(request);
      case 'dynamodb':
        return dynamoTouches(request);
      case 'kinesis':
        return [kinesisTouch(request)];
      case 'secretsmanager':
        return [secretTouch(request)];
      case 's3':
        return [bucketTouch(request)];
      default:
        return [{ action: request.action, arn: '*', allowed: () => false }];
    }
  };

  return registerRequestCheck((request) => {
    const invocation = currentInvocation();
    if (!invocation) return;
    const decl = (access as Record<string, ModuleAccess>)[invocation.handlerModule];
    for (const touch of touches(request)) {
      if (decl && touch.allowed(decl)) continue;
      const role = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${invocation.functionName}/${invocation.functionName}`;
      throw new AccessDeniedException(
        `User: ${role} is not authorized to perform: ${touch.action} on resource: ${touch.arn} ` +
          `because no identity-based policy allows the ${touch.action} action ` +
          (decl
            ? `(lib/access.ts: '${invocation.handlerModule}' does not declare it)`
            : `(lib/access.ts has no entry for '${invocation.handlerModule}')`),
      );
    }
  });
};
