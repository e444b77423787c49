/**
 * Traits in the synthesized stack: the CRM token secret (created empty, read by the sync job
 * alone), the traits table (not personal: it holds no values), and who may reach it.
 */
import { describe, expect, it } from 'vitest';
import { tables } from '../../lib/tables';
import { grantedPairs } from '../support/iam';
import { allHandlerModules, resourceById, synth } from '../support/synth';

const synthesized = synth();
const { json, stack, logicalId } = synthesized;

describe('CRM token secret', () => {
  it('exists empty (no token in the template) and is retained like the data', () => {
    const props = resourceById(json, logicalId(stack.secrets.get('crm')));
    expect(props.Properties.SecretString).toBe('{}');
    expect(props.Properties.GenerateSecretString).toBeUndefined();
    expect(props.DeletionPolicy).toBe('Retain');
  });

  it('is read by the CRM sync alone', () => {
    const readers = allHandlerModules().filter((m) =>
      grantedPairs(synthesized, m).includes('secretsmanager:GetSecretValue secret:crm'),
    );
    expect(readers).toEqual(['traits/crm-sync']);
  });
});

describe('imports bucket', () => {
  it('takes uploads through presigned URLs from the imports API, read and deleted by the runner alone', () => {
    const objectPairs = (m: string) =>
      grantedPairs(synthesized, m).filter((p) => p.includes('bucket:imports'));
    expect(objectPairs('traits/imports').map((p) => p.split(' ')[0])).toEqual(['s3:PutObject']);
    const readers = allHandlerModules().filter((m) =>
      objectPairs(m).some((p) => p.startsWith('s3:GetObject')),
    );
    // The privacy function reaches every personal bucket (erasure, export).
    expect(readers.sort()).toEqual(['privacy/privacy', 'traits/import-runner']);
  });
});

describe('traits table', () => {
  it('holds no personal data and is reached by the trait modules and the doors that check traits', () => {
    expect(tables.traits.personalData).toBe(false);
    const reach = allHandlerModules()
      .filter((m) => grantedPairs(synthesized, m).some((p) => p.endsWith(' table:traits')))
      .sort();
    expect(reach).toEqual([
      'identity/identify',
      'segmentio/tracking',
      // DescribeTable only, as for every table.
      'service/health',
      'traits/connectors',
      'traits/crm-sync',
      'traits/import-runner',
      'traits/imports',
      'traits/traits',
    ]);
  });
});
