/**
 * Least privilege: every function's role allows exactly what lib/access.ts declares for its handler
 * module (plus writing to its own log group, and for stream consumers the on-failure bucket), and
 * nothing else. Policies are flattened to `action resource` pairs so an extra action, an extra
 * resource or a wildcard all fail.
 */
import { describe, expect, it } from 'vitest';
import { access, accessFor } from '../../lib/access';
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
  it('ingest: only PutRecord(s) on the stream and GetItem on sources', () => {
    expect(grantedPairs(synthesized, 'ingest/engagement')).toEqual([
      'dynamodb:GetItem table:sources',
      'kinesis:PutRecord stream',
      'kinesis:PutRecords stream',
      'logs:CreateLogStream own-log-group',
      'logs:PutLogEvents own-log-group',
    ]);
  });

  it('fallback: nothing but its own logs', () => {
    expect(grantedPairs(synthesized, 'service/fallback')).toEqual([
      'logs:CreateLogStream own-log-group',
      'logs:PutLogEvents own-log-group',
    ]);
  });

  it('consumer: cannot read or delete what it quarantined in the failure bucket', () => {
    const s3 = grantedPairs(synthesized, 'aggregate/consumer').filter((p) => p.startsWith('s3:'));
    expect(s3).toEqual(['s3:ListBucket failure-bucket', 's3:PutObject failure-bucket/*']);
  });
});
