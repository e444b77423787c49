/**
 * Least privilege: every function's role allows exactly what lib/access.ts declares for its handler
 * module (plus writing to its own log group, and for stream consumers the on-failure bucket), and
 * nothing else. Policies are flattened to `action resource` pairs so an extra action, an extra
 * resource or a wildcard all fail.
 */
import { describe, expect, it } from 'vitest';
import { access, accessFor, STREAM_ACTIONS, TABLE_ACTIONS } from '../../lib/access';
import { tableList } from '../../lib/tables';
import { expectedPairs, grantedPairs } from '../support/iam';
import { allHandlerModules, synth } from '../support/synth';

const synthesized = synth();

describe('least privilege', () => {
  it('declares every handler module the stack runs, and nothing else', () => {
    expect(Object.keys(access).sort()).toEqual(allHandlerModules().sort());
  });

  it('refuses an undeclared handler module', () => {
    expect(() => accessFor('reports/export')).toThrow(
      /No access declaration for handler module 'reports\/export'/,
    );
  });

  it.each(allHandlerModules())("%s: the role allows exactly lib/access.ts's declaration", (handlerModule) => {
    expect(grantedPairs(synthesized, handlerModule)).toEqual(expectedPairs(handlerModule));
  });

  // Spelled out, not derived: loosening lib/access.ts for the hot path must fail here too.
  it('ingest: PutRecord(s) on the stream, GetItem on sources, UpdateItem on limits, the signing key', () => {
    expect(grantedPairs(synthesized, 'ingest/engagement')).toEqual([
      'dynamodb:GetItem table:sources',
      // Clean data at the edge: the tracking plans (Query) and their violation counts (UpdateItem).
      'dynamodb:Query table:quality',
      'dynamodb:UpdateItem table:limits',
      'dynamodb:UpdateItem table:quality',
      'kinesis:PutRecord stream',
      'kinesis:PutRecords stream',
      'logs:CreateLogStream own-log-group',
      'logs:PutLogEvents own-log-group',
      'secretsmanager:GetSecretValue secret:signing',
    ]);
  });

  it('consent: its table, write-key lookups on sources, the signing key', () => {
    expect(grantedPairs(synthesized, 'consent/consent')).toEqual(
      [
        ...TABLE_ACTIONS.readWrite.map((a) => `${a} table:consent`),
        'dynamodb:GetItem table:sources',
        // Links tell a user id from an anonymous one (anonymous consent needs no user hash); a
        // withdrawal of personalisation removes scores (users) and model tags (docs/models.md).
        ...TABLE_ACTIONS.readWrite.map((a) => `${a} table:users`),
        ...TABLE_ACTIONS.readWrite.map((a) => `${a} table:tags`),
        ...TABLE_ACTIONS.readWrite.map((a) => `${a} table:tags/index/byNextCheck`),
        // Model tags leaving segments: outbox messages for the destinations following them.
        ...TABLE_ACTIONS.read.map((a) => `${a} table:destinations`),
        ...['BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} table:outbox`),
        'logs:CreateLogStream own-log-group',
        'logs:PutLogEvents own-log-group',
        'secretsmanager:GetSecretValue secret:signing',
      ].sort(),
    );
  });

  it('consumer: looks consent up by key only, writes quarantine without reading it back', () => {
    const pairs = grantedPairs(synthesized, 'aggregate/consumer');
    expect(pairs.filter((p) => p.endsWith(' table:consent'))).toEqual([
      'dynamodb:BatchGetItem table:consent',
      'dynamodb:GetItem table:consent',
    ]);
    expect(pairs.filter((p) => p.endsWith(' table:quarantine'))).toEqual(
      TABLE_ACTIONS.write.map((a) => `${a} table:quarantine`).sort(),
    );
    expect(pairs.filter((p) => /table:(sources|limits)\b/.test(p))).toEqual([]);
    // Rule tags and memberships; experiment assignments that move with an identity merge.
    for (const t of ['tags', 'experiments'])
      expect(pairs.filter((p) => p.endsWith(` table:${t}`))).toEqual(
        TABLE_ACTIONS.readWrite.map((a) => `${a} table:${t}`).sort(),
      );
    expect(pairs).toContain('secretsmanager:GetSecretValue secret:signing');
  });

  it('metrics: reads the metrics table, nothing else', () => {
    expect(grantedPairs(synthesized, 'metrics/metrics')).toEqual(
      [
        ...TABLE_ACTIONS.read.map((a) => `${a} table:metrics`),
        'logs:CreateLogStream own-log-group',
        'logs:PutLogEvents own-log-group',
      ].sort(),
    );
  });

  it('health: describes the stream and every table, reads no data', () => {
    expect(grantedPairs(synthesized, 'service/health')).toEqual(
      [
        ...tableList.map((t) => `dynamodb:DescribeTable table:${t.name}`),
        'kinesis:DescribeStreamSummary stream',
        'logs:CreateLogStream own-log-group',
        'logs:PutLogEvents own-log-group',
      ].sort(),
    );
  });

  it('fallback: nothing but its own logs', () => {
    expect(grantedPairs(synthesized, 'service/fallback')).toEqual([
      'logs:CreateLogStream own-log-group',
      'logs:PutLogEvents own-log-group',
    ]);
  });

  // The newer modules, role by role, in literals: a level changed in lib/access.ts changes these.
  const LOOKUP = ['BatchGetItem', 'GetItem'];
  const READ = ['BatchGetItem', 'GetItem', 'Query', 'Scan'];
  const READ_WRITE = [...READ, 'BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'];
  const on = (actions: readonly string[], target: string) => actions.map((a) => `dynamodb:${a} ${target}`);
  const LOGS = ['logs:CreateLogStream own-log-group', 'logs:PutLogEvents own-log-group'];
  const SIGNING = 'secretsmanager:GetSecretValue secret:signing';
  const PUT_RECORDS = ['kinesis:PutRecord stream', 'kinesis:PutRecords stream'];
  // The ingest doors: write key by hash, the rate-limit window, the stream, the signing key.
  const DOOR = [
    'dynamodb:GetItem table:sources',
    'dynamodb:UpdateItem table:limits',
    ...PUT_RECORDS,
    SIGNING,
  ];
  // Tags readWrite also reaches the sweep's index (Query names the index ARN).
  const TAGS_RW = [...on(READ_WRITE, 'table:tags'), ...on(READ_WRITE, 'table:tags/index/byNextCheck')];
  // Destinations: who follows a segment (read), and its enter/leave messages (outbox writes).
  const TRIGGERS = [
    ...on(READ, 'table:destinations'),
    ...on(['BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'], 'table:outbox'),
  ];
  const OUTBOX_RW = [...on(READ_WRITE, 'table:outbox'), ...on(READ_WRITE, 'table:outbox/index/byDue')];
  // Destination delivery: consent and erasure markers by key, linked ids, a person's tags.
  const DELIVERY = [
    ...on(READ_WRITE, 'table:destinations'),
    ...OUTBOX_RW,
    ...on(LOOKUP, 'table:consent'),
    ...on(READ, 'table:users'),
    ...on(READ, 'table:tags'),
    ...on(READ, 'table:tags/index/byNextCheck'),
    SIGNING,
    'secretsmanager:GetSecretValue destination-secrets/*',
    // eventbridge destinations: PutEvents on the stack's bus (pulse:eventBuses adds others).
    'events:PutEvents bus:engagement',
  ];
  const spelledOut: [string, string[]][] = [
    // Trait declarations: a Query of their partition (cached per container).
    ['identity/identify', [...DOOR, ...on(READ, 'table:traits'), ...LOGS]],
    // Profiles: alias GetItem, person BatchGetItem, Query of links#<userId>; consent by key only.
    [
      'users/users',
      [...on(READ, 'table:users'), ...TAGS_RW, ...on(LOOKUP, 'table:consent'), ...TRIGGERS, ...LOGS],
    ],
    ['segments/segments', [...TAGS_RW, ...LOGS]],
    // Query on links#<userId> for the ids whose stored consent counts.
    [
      'links/links',
      [...on(READ, 'table:users'), ...on(LOOKUP, 'table:consent'), ...PUT_RECORDS, SIGNING, ...LOGS],
    ],
    [
      'experiments/experiments',
      [...on(READ_WRITE, 'table:experiments'), ...on(READ, 'table:metrics'), ...LOGS],
    ],
    [
      'promotion/promotion',
      [
        ...DOOR,
        ...on(READ_WRITE, 'table:experiments'),
        ...on(READ, 'table:tags'),
        ...on(READ, 'table:tags/index/byNextCheck'),
        ...on(LOOKUP, 'table:users'),
        // Stored consent and erasure markers, by key: a withdrawal wins over any token.
        ...on(LOOKUP, 'table:consent'),
        ...LOGS,
      ],
    ],
    [
      'segmentio/tracking',
      [
        ...DOOR,
        ...on(['BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'], 'table:quarantine'),
        ...on(['Query', 'UpdateItem'], 'table:quality'),
        ...on(READ, 'table:traits'),
        ...LOGS,
      ],
    ],
    // Clean data at the edge: plans and violations; the replay reads the quarantine, writes the stream.
    ['quality/tracking-plan', [...on(READ_WRITE, 'table:quality'), ...LOGS]],
    [
      'quality/replay',
      [...on(READ, 'table:quarantine'), ...on(READ, 'table:quality'), ...PUT_RECORDS, SIGNING, ...LOGS],
    ],
    ['segmentio/settings', ['dynamodb:GetItem table:sources', ...LOGS]],
    ['service/openapi', LOGS],
    // Scheduled: due checks by index, outcomes to tags; stats, aliases and backfill Scans on users.
    ['segments/sweep', [...TAGS_RW, ...on(READ, 'table:users'), ...TRIGGERS, ...LOGS]],
    // Scheduled: quarter rows read, day rollups and the registry's compaction state written.
    ['metrics/compact', [...on(READ_WRITE, 'table:metrics'), ...LOGS]],
    // Destinations (docs/destinations.md)
    [
      'destinations/destinations',
      [
        ...on(READ_WRITE, 'table:destinations'),
        ...on(READ, 'table:outbox'),
        ...on(READ, 'table:outbox/index/byDue'),
        ...['CreateSecret', 'DeleteSecret', 'GetSecretValue', 'PutSecretValue'].map(
          (a) => `secretsmanager:${a} destination-secrets/*`,
        ),
        ...LOGS,
      ],
    ],
    [
      'destinations/consumer',
      [
        ...DELIVERY,
        ...STREAM_ACTIONS.read.map((a) => `${a} stream`),
        's3:PutObject bucket:failures/*',
        's3:ListBucket bucket:failures',
        ...LOGS,
      ],
    ],
    // Replays read the archive as the exports do: Athena and the Glue table, the archive bucket,
    // results in the exports bucket.
    ['destinations/redrive', [...DELIVERY, ...expectedPairs('archive/exports')]],
    ['alerts/alerts', [...on(READ_WRITE, 'table:destinations'), ...LOGS]],
    [
      'alerts/evaluate',
      [
        ...on(READ_WRITE, 'table:destinations'),
        ...on(READ, 'table:metrics'),
        ...on(['BatchWriteItem', 'DeleteItem', 'PutItem', 'UpdateItem'], 'table:outbox'),
        ...LOGS,
      ],
    ],
  ];

  it.each(spelledOut)('%s: exactly these pairs', (handlerModule, pairs) => {
    expect(grantedPairs(synthesized, handlerModule)).toEqual([...new Set(pairs)].sort());
  });

  it('consumer: cannot read or delete what it quarantined in the failure bucket', () => {
    const s3 = grantedPairs(synthesized, 'aggregate/consumer').filter((p) => p.startsWith('s3:'));
    expect(s3).toEqual(['s3:ListBucket bucket:failures', 's3:PutObject bucket:failures/*']);
  });
});
