/**
 * Flattens IAM policies into `action resource` pairs, with resources named by what they are, so a
 * role can be compared with lib/access.ts as one sorted list.
 */
import { expect } from 'vitest';
import {
  ANALYTICS_ACTIONS,
  accessFor,
  BUCKET_ACTIONS,
  type BucketAccess,
  DESTINATION_SECRET_ACTIONS,
  destinationSecretPrefix,
  type ModuleAccess,
  SECRET_ACTIONS,
  SECRET_KMS_ACTIONS,
  STREAM_ACTIONS,
  STREAM_KMS_ACTIONS,
  TABLE_ACCESS_USES_INDEXES,
  TABLE_ACTIONS,
  TABLE_KMS_ACTIONS,
  type TableAccess,
} from '../../lib/access';
import { EVENT_BUS_ACTIONS } from '../../lib/event-buses';
import { streamConsumers } from '../../lib/stream';
import { type TableName, tables } from '../../lib/tables';
import { resourceById, type Synthesized } from './synth';

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  [key: string]: unknown;
}

/** `action resourceLabel` pairs a function's role is allowed, with resources named by what they are. */
export const grantedPairs = (s: Synthesized, handlerModule: string): string[] => {
  const { json, stack, logicalId } = s;
  const fn = stack.functions.get(handlerModule);
  if (!fn) throw new Error(`no function for ${handlerModule}`);
  const roleId = logicalId(fn.role);

  const labels = new Map<string, string>();
  const getAtt = (id: string) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
  const under = (id: string, suffix: string) =>
    JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, suffix]] });
  labels.set(getAtt(logicalId(stack.eventStream.stream)), 'stream');
  for (const [name, table] of stack.tables.byName) {
    labels.set(getAtt(logicalId(table)), `table:${name}`);
    for (const index of tables[name as TableName].indexes)
      labels.set(under(logicalId(table), `/index/${index.name}`), `table:${name}/index/${index.name}`);
  }
  const ownLogGroup = (
    resourceById(json, logicalId(fn.fn)).Properties.LoggingConfig as { LogGroup: { Ref: string } }
  ).LogGroup.Ref;
  labels.set(getAtt(ownLogGroup), 'own-log-group');
  for (const [name, secret] of stack.secrets.byName) {
    labels.set(JSON.stringify({ Ref: logicalId(secret) }), `secret:${name}`);
  }
  for (const [name, bucket] of stack.buckets.byName) {
    labels.set(getAtt(logicalId(bucket)), `bucket:${name}`);
    labels.set(under(logicalId(bucket), '/*'), `bucket:${name}/*`);
  }
  if (stack.encryptionKey) labels.set(getAtt(logicalId(stack.encryptionKey)), 'key');
  // Archive: the Athena workgroup and the Glue catalog, database and table.
  const [catalog, database, table] = stack.archive.grantTargets.catalogArns.map((a) =>
    JSON.stringify(stack.resolve(a)),
  );
  labels.set(JSON.stringify(stack.resolve(stack.archive.grantTargets.workgroupArn)), 'athena:workgroup');
  labels.set(catalog as string, 'glue:catalog');
  labels.set(database as string, 'glue:database');
  labels.set(table as string, 'glue:table');
  // Destinations: credential secrets under the stage's prefix.
  labels.set(
    JSON.stringify({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:secret:${destinationSecretPrefix(stack.settings.stage)}*`,
        ],
      ],
    }),
    'destination-secrets/*',
  );

  // eventbridge destinations: the stack's bus, and each of pulse:eventBuses as it was given.
  const [ownBus, ...extraBuses] = stack.eventBuses.grantArns;
  labels.set(JSON.stringify(stack.resolve(ownBus)), 'bus:engagement');
  for (const [i, b] of stack.settings.eventBuses.entries())
    labels.set(JSON.stringify(stack.resolve(extraBuses[i])), `bus:${b}`);

  const role = json.Resources[roleId];
  expect(role?.Properties.Policies, 'no inline policies on the role itself').toBeUndefined();
  expect(role?.Properties.ManagedPolicyArns, 'no managed policies').toBeUndefined();

  const pairs: string[] = [];
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      expect(JSON.stringify(resource.Properties.Roles ?? [])).not.toContain(roleId);
    }
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = resource.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    expect(roles, 'a policy serves one role').toHaveLength(1);
    const doc = resource.Properties.PolicyDocument as { Statement: Statement[] };
    for (const st of doc.Statement) {
      // Only plain Allow statements: a Condition or NotAction would change what the pairs mean.
      expect(Object.keys(st).sort()).toEqual(['Action', 'Effect', 'Resource']);
      expect(st.Effect).toBe('Allow');
      const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
      const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      for (const a of actions) {
        for (const r of resources) {
          const key = JSON.stringify(r);
          pairs.push(`${a} ${labels.get(key) ?? `UNEXPECTED:${key}`}`);
        }
      }
    }
  }
  return [...new Set(pairs)].sort();
};

/** What lib/access.ts (and the stack's fixed extras) say a handler module's role must allow. */
export const expectedPairs = (handlerModule: string, opts: { kms?: boolean } = {}): string[] => {
  const decl: ModuleAccess = accessFor(handlerModule);
  const pairs = ['logs:CreateLogStream own-log-group', 'logs:PutLogEvents own-log-group'];
  const kms = new Set<string>();
  if (decl.stream) {
    for (const a of STREAM_ACTIONS[decl.stream]) pairs.push(`${a} stream`);
    for (const a of STREAM_KMS_ACTIONS[decl.stream]) kms.add(a);
  }
  for (const [name, level] of Object.entries(decl.tables ?? {}) as [TableName, TableAccess][]) {
    for (const a of TABLE_ACTIONS[level]) {
      pairs.push(`${a} table:${name}`);
      if (TABLE_ACCESS_USES_INDEXES[level])
        for (const index of tables[name].indexes) pairs.push(`${a} table:${name}/index/${index.name}`);
    }
    for (const a of TABLE_KMS_ACTIONS[level]) kms.add(a);
  }
  for (const name of decl.secrets ?? []) {
    for (const a of SECRET_ACTIONS) pairs.push(`${a} secret:${name}`);
    for (const a of SECRET_KMS_ACTIONS) kms.add(a);
  }
  for (const [name, level] of Object.entries(decl.buckets ?? {}) as [string, BucketAccess][]) {
    const { bucket, objects } = BUCKET_ACTIONS[level];
    for (const a of bucket) pairs.push(`${a} bucket:${name}`);
    for (const a of objects) pairs.push(`${a} bucket:${name}/*`);
  }
  if (decl.analytics) {
    for (const a of ANALYTICS_ACTIONS.workgroup) pairs.push(`${a} athena:workgroup`);
    for (const a of ANALYTICS_ACTIONS.catalog)
      for (const r of ['glue:catalog', 'glue:database', 'glue:table']) pairs.push(`${a} ${r}`);
  }
  if (decl.destinationSecrets)
    for (const a of DESTINATION_SECRET_ACTIONS[decl.destinationSecrets])
      pairs.push(`${a} destination-secrets/*`);
  // eventbridge destinations: the stack's own bus (pulse:eventBuses adds more; test/infra/event-buses.test.ts).
  if (decl.eventBuses) for (const a of EVENT_BUS_ACTIONS) pairs.push(`${a} bus:engagement`);
  if (opts.kms) for (const a of kms) pairs.push(`${a} key`);
  // Lambda writes a consumer's failed batches to S3 with the consumer's own role.
  if (streamConsumers.some((c) => c.handler === handlerModule)) {
    pairs.push('s3:PutObject bucket:failures/*', 's3:ListBucket bucket:failures');
  }
  return [...new Set(pairs)].sort();
};
