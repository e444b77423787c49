/**
 * The context keys bin/pulse.ts documents: every non-default value changes the template the way
 * it says, strings from `-c key=value` parse like cdk.json values, and bad values fail synth.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegoEngine, TemplateFile } from '@aws/cloudformation-validate';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { accessFor } from '../../lib/access';
import { ENV } from '../../lib/config';
import { readSettings, SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { routes } from '../../lib/routes';
import { tableList } from '../../lib/tables';
import { expectedPairs, grantedPairs } from '../support/iam';
import { countryMmdb } from '../support/mmdb';
import { allHandlerModules, resourceById, resourcesOfType, synth } from '../support/synth';

// Everything flipped, as strings, the way `cdk synth -c pulse:kmsKey=true` passes them.
const variant = synth({
  context: {
    'pulse:stage': 'prod',
    'pulse:shardMode': 'provisioned',
    'pulse:shardCount': '4',
    'pulse:consentMode': 'off',
    'pulse:consentTtlDays': '30',
    'pulse:piiMode': 'hash',
    'pulse:retentionDays': '90',
    'pulse:eventHorizonDays': '14',
    'pulse:removalPolicy': 'destroy',
    'pulse:logRetentionDays': '7',
    'pulse:failureRetentionDays': '3',
    'pulse:throttleRateLimit': '50',
    'pulse:throttleBurstLimit': '100',
    'pulse:corsOrigins': 'https://app.example.com, https://www.example.com',
    'pulse:kmsKey': 'true',
    'pulse:mfa': 'required',
    'pulse:threatProtection': 'false',
    'pulse:alarmEmail': 'ops@example.com',
  },
});
const { json, stack, template, logicalId } = variant;
const keyId = logicalId(stack.encryptionKey as never);
const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };

describe('non-default context', () => {
  it('one rotated customer managed key encrypts stream, tables, signing secret and alarm topic', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: keyArn },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 4,
    });
    for (const [, table] of resourcesOfType(json, 'AWS::DynamoDB::Table')) {
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: keyArn,
      });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
  });

  it("lets the signing secret's readers decrypt it through the key", () => {
    for (const m of allHandlerModules()) {
      const decl = accessFor(m);
      const decrypts = grantedPairs(variant, m).includes('kms:Decrypt key');
      // Every other declared resource that needs kms:Decrypt is checked by expectedPairs above.
      if (decl.secrets?.length) expect(decrypts, m).toBe(true);
    }
  });

  it('grants each function the KMS actions its access needs, on that key only', () => {
    for (const m of allHandlerModules()) {
      expect(grantedPairs(variant, m), m).toEqual(expectedPairs(m, { kms: true }));
    }
  });

  it('destroy removal policy reaches tables, stream, buckets and logs', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::Kinesis::Stream',
      'AWS::S3::Bucket',
      'AWS::Logs::LogGroup',
    ]) {
      for (const [id, r] of resourcesOfType(json, type)) expect(r.DeletionPolicy, id).toBe('Delete');
    }
  });

  it('applies retention, throttling, CORS, MFA, the feature plan and the alarm email', () => {
    for (const [, lg] of resourcesOfType(json, 'AWS::Logs::LogGroup'))
      expect(lg.Properties.RetentionInDays).toBe(7);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 3, Status: 'Enabled' }] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example.com', 'https://www.example.com'],
      }),
    });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      UserPoolTier: 'ESSENTIALS',
      UserPoolAddOns: Match.absent(),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('passes stage, consent, PII and retention settings and event horizon to every function', () => {
    // Every function of a handler module (not the CDK's BucketDeployment function: console, issue 18).
    const ours = new Set([...stack.functions.values()].map((f) => logicalId(f.fn)));
    for (const [id, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      if (!ours.has(id)) continue;
      expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        [ENV.stage]: 'prod',
        [ENV.consentMode]: 'off',
        [ENV.consentTtlDays]: '30',
        [ENV.piiMode]: 'hash',
        [ENV.retentionDays]: '90',
        [ENV.eventHorizonDays]: '14',
      });
    }
  });

  it('lets browsers send what the SDKs send, with the methods of the route table', () => {
    const cors = resourcesOfType(json, 'AWS::ApiGatewayV2::Api')[0]?.[1].Properties.CorsConfiguration as {
      AllowHeaders: string[];
      AllowMethods: string[];
      ExposeHeaders: string[];
      AllowCredentials?: boolean;
    };
    expect([...cors.AllowHeaders].sort()).toEqual([
      'authorization',
      'content-encoding',
      'content-type',
      'x-api-key',
      'x-consent-token',
    ]);
    expect([...cors.AllowMethods].sort()).toEqual([...new Set(routes.map((r) => r.method))].sort());
    // SDKs read Retry-After on 429; a browser hides headers that are not exposed.
    expect(cors.ExposeHeaders).toEqual(['retry-after']);
    // Write keys and bearer tokens travel in headers, never in cookies.
    expect(cors.AllowCredentials).toBeUndefined();
  });

  it('tells the functions the origins, so the $default function answers preflights the same way', () => {
    const fallback = variant.stack.functions.get('service/fallback');
    if (!fallback) throw new Error('no fallback function');
    const env = (
      resourceById(json, variant.logicalId(fallback.fn)).Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(env[ENV.corsOrigins]).toBe('https://app.example.com,https://www.example.com');
    expect(env[ENV.failureRetentionDays]).toBe('3');
  });

  it('stays clean under cdk-nag (the opt-outs acknowledge themselves)', () => {
    expect(new AwsSolutionsChecks().validateScope(variant.app).violations).toEqual([]);
  });

  // The Rego engine is CPU-bound: past the default 30 s when the machine's cores are shared.
  it('passes @aws/cloudformation-validate without errors', { timeout: 180_000 }, () => {
    const engine = new RegoEngine();
    try {
      const report = engine.validateStandard(new TemplateFile(variant.templatePath));
      expect(report.status).toBe('OK');
      const errors = report.diagnostics.filter((d) => d.severity === 'ERROR' || d.severity === 'FATAL');
      expect(errors.map((d) => `${d.ruleId} ${d.entity?.logicalId}: ${d.message}`)).toEqual([]);
    } finally {
      engine.free();
    }
  });

  it('still builds every table', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', tableList.length);
  });
});

describe('readSettings', () => {
  const settings = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

  it('defaults to SETTING_DEFAULTS', () => {
    expect(settings({})).toEqual(SETTING_DEFAULTS);
  });

  it('ships the country database to the doors as a layer, at /opt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-geo-'));
    const file = join(dir, 'Test-Country.mmdb');
    writeFileSync(file, countryMmdb({ '81.2.69.0/24': 'GB' }));
    const synthesized = synth({ context: { 'pulse:countryMode': 'mmdb', 'pulse:geoDatabase': file } });
    // The country database's layer, beside the AWS CLI layer of the console's BucketDeployment.
    synthesized.template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    const withLayer = resourcesOfType(synthesized.json, 'AWS::Lambda::Function')
      .map(
        ([, f]) =>
          f.Properties as { Layers?: unknown[]; Environment?: { Variables: Record<string, unknown> } },
      )
      .filter((p) => (p.Layers?.length ?? 0) > 0 && p.Environment?.Variables[ENV.geoDatabase] !== undefined);
    // The doors that enrich events: engagement, Segment tracking, the quarantine replay.
    expect(withLayer.length).toBe(3);
    for (const p of withLayer) {
      expect(p.Environment?.Variables[ENV.geoDatabase]).toBe('/opt/Test-Country.mmdb');
      expect(p.Environment?.Variables[ENV.countryMode]).toBe('mmdb');
    }
  });

  it.each([
    [{ 'pulse:shardMode': 'sometimes' }, /pulse:shardMode must be one of on-demand, provisioned/],
    [{ 'pulse:shardCount': '2.5' }, /pulse:shardCount must be an integer/],
    [{ 'pulse:kmsKey': 'yes' }, /pulse:kmsKey must be true or false/],
    [{ 'pulse:piiMode': 'mask' }, /pulse:piiMode must be one of reject, hash, off/],
    [{ 'pulse:consentTtlDays': '0' }, /pulse:consentTtlDays must be an integer in 1\.\.3650/],
    [{ 'pulse:retentionDays': 'forever' }, /pulse:retentionDays must be an integer/],
    [{ 'pulse:logRetentionDays': 31 }, /pulse:logRetentionDays must be a CloudWatch Logs retention/],
    [{ 'pulse:stage': 'Prod_1' }, /pulse:stage must be lowercase/],
    [{ 'pulse:alarmEmail': 'nobody' }, /pulse:alarmEmail must be an email address/],
    [
      { 'pulse:deletionProtection': true, 'pulse:removalPolicy': 'destroy' },
      /pulse:removalPolicy must be 'retain'/,
    ],
    // Clean data at the edge (docs/data-quality.md).
    [{ 'pulse:botMode': 'block' }, /pulse:botMode must be one of flag, drop/],
    [{ 'pulse:botMaxEventsPerMinute': '-1' }, /pulse:botMaxEventsPerMinute must be an integer/],
    [{ 'pulse:countryMode': 'mmdb' }, /pulse:geoDatabase must be a .mmdb file when/],
    [
      { 'pulse:geoDatabase': '/nowhere/GeoLite2-Country.mmdb' },
      /pulse:geoDatabase must be the path of a .mmdb file/,
    ],
    [{ 'pulse:utmMapping': '{"url":{"channel":["x"]}}' }, /pulse:utmMapping must be a UTM mapping/],
  ])('refuses %j', (context, message) => {
    expect(() => settings(context)).toThrow(message);
  });
});
