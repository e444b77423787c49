/**
 * The console as deployed: a private bucket read by CloudFront through origin access control,
 * the API behind the same distribution, the security headers, and the Cognito app client the
 * Hosted UI signs analysts in with (authorization code, PKCE, callback to the console).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type CfnResourceJson, resourcesOfType, synth } from '../support/synth';

const { json, stack, template, logicalId } = synth();
const bucketId = logicalId(stack.console.bucket);
const distributionId = logicalId(stack.console.distribution);
const distribution = json.Resources[distributionId]?.Properties.DistributionConfig as Record<string, unknown>;

describe('console bucket', () => {
  it('is private, encrypted, TLS-only and logged', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'console-bucket/' }),
    });
    const policy = resourcesOfType(json, 'AWS::S3::BucketPolicy').find(
      ([, p]) => (p.Properties.Bucket as { Ref?: string }).Ref === bucketId,
    )?.[1];
    const statements = (
      (policy as CfnResourceJson).Properties.PolicyDocument as { Statement: Record<string, unknown>[] }
    ).Statement;
    // Only CloudFront, only for this distribution, reads it; nothing over plain HTTP.
    const read = statements.find(
      (s) => s.Principal && JSON.stringify(s.Principal).includes('cloudfront.amazonaws.com'),
    );
    expect(read).toMatchObject({ Effect: 'Allow', Action: 's3:GetObject' });
    expect(JSON.stringify(read?.Condition)).toContain(distributionId);
    expect(
      statements.some(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'),
      ),
    ).toBe(true);
    expect(statements.every((s) => s.Principal !== '*' || s.Effect === 'Deny')).toBe(true);
  });
});

describe('console distribution', () => {
  it('reads the bucket through origin access control, never a public website endpoint', () => {
    const originsList = distribution.Origins as Record<string, unknown>[];
    const s3Origin = originsList.find((o) => o.S3OriginConfig);
    expect(s3Origin?.OriginAccessControlId).toBeDefined();
    expect(s3Origin?.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
      }),
    });
  });

  it('serves HTTPS only, and the API at /api/* on the same origin with nothing cached', () => {
    expect((distribution.DefaultCacheBehavior as Record<string, unknown>).ViewerProtocolPolicy).toBe(
      'redirect-to-https',
    );
    const api = (distribution.CacheBehaviors as Record<string, unknown>[]).find(
      (b) => b.PathPattern === '/api/*',
    );
    expect(api).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    });
    expect(api?.AllowedMethods).toContain('PATCH');
    const apiOrigin = (distribution.Origins as Record<string, unknown>[]).find(
      (o) => o.Id === api?.TargetOriginId,
    );
    expect(apiOrigin?.CustomOriginConfig).toMatchObject({
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
    });
    expect(JSON.stringify(apiOrigin?.DomainName)).toContain('execute-api');
  });

  it('sends the security headers: CSP of its own origin and Cognito, HSTS, no sniffing, framing or referrer', () => {
    const [[, policy]] = resourcesOfType(json, 'AWS::CloudFront::ResponseHeadersPolicy') as [
      [string, CfnResourceJson],
    ];
    const headers = (policy.Properties.ResponseHeadersPolicyConfig as Record<string, Record<string, unknown>>)
      .SecurityHeadersConfig as Record<string, Record<string, unknown>>;
    const csp = JSON.stringify(headers.ContentSecurityPolicy?.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('amazoncognito.com');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('*');
    expect(headers.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 31_536_000,
      Override: true,
    });
    expect(headers.ContentTypeOptions).toMatchObject({ Override: true });
    expect(headers.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(headers.ReferrerPolicy).toMatchObject({ ReferrerPolicy: 'no-referrer' });
  });
});

describe('console sign-in', () => {
  const clientId = logicalId(stack.console.client);
  const client = json.Resources[clientId]?.Properties as Record<string, unknown>;

  it('is a public app client for the authorization code grant, called back at the console', () => {
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client.AllowedOAuthScopes).toEqual(expect.arrayContaining(['openid']));
    expect(client.SupportedIdentityProviders).toEqual(['COGNITO']);
    for (const urls of [client.CallbackURLs, client.LogoutURLs]) {
      const url = JSON.stringify(urls);
      expect(url).toContain('https://');
      expect(url).toContain(distributionId);
      expect(url).toContain('/console/');
    }
  });

  it('has a Hosted UI domain, and every function accepts both app clients', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const vars = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      if (!vars?.[ENV.userPoolClientId]) continue;
      expect(JSON.stringify(vars[ENV.userPoolClientId])).toContain(clientId);
    }
  });

  it('deploys the build and a config.json naming the Hosted UI and the client', () => {
    const [, deployment] = resourcesOfType(json, 'Custom::CDKBucketDeployment')[0] ?? [];
    expect(deployment?.Properties).toMatchObject({ DestinationBucketKeyPrefix: 'console/' });
    expect(JSON.stringify(deployment?.Properties.DistributionPaths)).toContain('/console/*');
    expect(json.Outputs?.ConsoleUrl).toBeDefined();
  });
});
