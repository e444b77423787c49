import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  CfnOutput,
  CfnResource,
  DockerImage,
  Duration,
  Fn,
  type RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_SECURITY_HEADERS, consoleCsp } from '../console-headers';

export interface PulseConsoleProps {
  readonly stage: string;
  readonly userPool: cognito.UserPool;
  /**
   * The HTTP API's own domain (`<apiId>.execute-api.<region>.<suffix>`), served by the same
   * distribution under `/api/*`: the console calls its own origin, so neither CORS nor a second
   * origin in the content security policy is needed. May be a lazy token (the API is built after
   * the functions, whose environment names this console's app client).
   */
  readonly apiDomain: string;
  /** The console's sources (index.html, src/, vite.config.ts); built by Vite at synth. */
  readonly sourceDir: string;
  /** Where the bucket's server access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /** The deployment function's log group (the stack's retention and removal policy). */
  readonly deployLogGroup: logs.ILogGroup;
  readonly removalPolicy: RemovalPolicy;
}

const CONSOLE_PREFIX = 'console';

/**
 * `/console` and `/console/` are the app (index.html); `/` goes to it. Everything else is a file
 * of the build or an API path, untouched.
 */
const REWRITE = `function handler(event) {
  var r = event.request;
  if (r.uri === '/' || r.uri === '/${CONSOLE_PREFIX}') {
    return { statusCode: 308, statusDescription: 'Permanent Redirect', headers: { location: { value: '/${CONSOLE_PREFIX}/' } } };
  }
  if (r.uri === '/${CONSOLE_PREFIX}/') r.uri = '/${CONSOLE_PREFIX}/index.html';
  return r;
}`;

/**
 * The analyst console, deployed: its build in a private S3 bucket read by CloudFront through
 * origin access control, the API behind the same distribution at `/api/*`, security headers
 * (CSP: the app's origin, and Cognito's domain for the token exchange), and sign-in through the
 * user pool's Hosted UI with an app client for the authorization code grant with PKCE.
 */
export class PulseConsole extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly domain: cognito.UserPoolDomain;
  readonly client: cognito.UserPoolClient;
  readonly url: string;

  constructor(scope: Construct, id: string, props: PulseConsoleProps) {
    super(scope, id);
    const region = Stack.of(this).region;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
    });

    // The Hosted UI's domain: unique per region, so the stage and the account name it.
    this.domain = props.userPool.addDomain('ConsoleDomain', {
      cognitoDomain: { domainPrefix: Fn.join('-', ['pulse', props.stage, Stack.of(this).account]) },
    });
    const cognitoUrl = `https://${this.domain.domainName}.auth.${region}.amazoncognito.com`;

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Pulse console: CSP (own origin, Cognito), HSTS, no sniffing, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: consoleCsp([cognitoUrl]), override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          {
            header: 'Permissions-Policy',
            value: CONSOLE_SECURITY_HEADERS['permissions-policy'],
            override: true,
          },
        ],
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Pulse ${props.stage} console and API`,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [
          {
            eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
            function: new cloudfront.Function(this, 'Rewrite', {
              code: cloudfront.FunctionCode.fromInline(REWRITE),
              runtime: cloudfront.FunctionRuntime.JS_2_0,
              comment: 'The console index at /console/',
            }),
          },
        ],
      },
      additionalBehaviors: {
        // The API, same origin as the console: every method, nothing cached, every viewer header
        // (Authorization) but Host forwarded; its own security headers kept.
        '/api/*': {
          origin: new origins.HttpOrigin(props.apiDomain, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    const origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${origin}/${CONSOLE_PREFIX}/`;

    // A public client (a browser keeps no secret): authorization code only, which Cognito runs
    // with PKCE when the app sends a code challenge (the console always does).
    this.client = props.userPool.addClient('ConsoleClient', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [this.url],
        logoutUrls: [this.url],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });

    new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${CONSOLE_PREFIX}/`,
      sources: [
        consoleBuild(props.sourceDir),
        s3deploy.Source.jsonData('config.json', {
          apiUrl: '',
          auth: {
            kind: 'cognito',
            domain: cognitoUrl,
            clientId: this.client.userPoolClientId,
            redirectUri: this.url,
            logoutUri: this.url,
          },
        }),
      ],
      // index.html and config.json change with each deployment; the hashed assets never do.
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: [`/${CONSOLE_PREFIX}/*`],
      memoryLimit: 256,
      logGroup: props.deployLogGroup,
    });

    new CfnOutput(Stack.of(this), 'ConsoleUrl', { value: this.url, description: 'The analyst console' });
    this.acknowledge();
  }

  /** cdk-nag findings that stand, each with why (test/infra/compliance.test.ts reviews the list). */
  private acknowledge(): void {
    const distribution = Validations.of(this.distribution);
    distribution.acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'Analysts sign in from wherever they work; access is decided by Cognito sign-in and the API, not by country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL by default (billed per ACL and per request): the bucket holds only the public app, and ' +
          'the API behind /api/* authenticates every route itself and is throttled by API Gateway.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'CloudFront standard logs need an ACL-enabled bucket; the API behind /api/* keeps its own access log ' +
          '(the API Gateway access log group), and the console bucket has S3 server access logs.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate fixes the viewer policy at TLSv1; browsers negotiate TLS 1.3. ' +
          'A custom domain with an ACM certificate (TLSv1.2_2021) is the way to raise the floor.',
      },
    );
    // BucketDeployment's own function (a CDK singleton, shared by the stack): copies the build from
    // the CDK asset bucket into the console bucket and invalidates the distribution.
    const handler = Stack.of(this).node.children.find((c) =>
      c.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (!handler) return;
    const bucketId =
      this.bucket.node.defaultChild instanceof CfnResource
        ? Stack.of(this).resolve(this.bucket.node.defaultChild.logicalId)
        : 'ConsoleBucket';
    const why =
      "The CDK's BucketDeployment function: it reads the build from the CDK asset bucket and replaces the " +
      "console's objects under console/ (these grants are the CDK's, scoped to the two buckets), invalidates " +
      'the distribution (CloudFront has no resource-level permission for that), and logs with the basic role.';
    Validations.of(handler).acknowledge(
      ...[
        'AwsSolutions-IAM5[Action::s3:Abort*]',
        'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        'AwsSolutions-IAM5[Action::s3:GetBucket*]',
        'AwsSolutions-IAM5[Action::s3:GetObject*]',
        'AwsSolutions-IAM5[Action::s3:List*]',
        'AwsSolutions-IAM5[Resource::*]',
        `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      ].map((id) => ({ id, reason: why })),
      {
        id: 'AwsSolutions-L1',
        reason:
          "The BucketDeployment function's runtime is chosen by the CDK release (it runs the AWS CLI layer); it " +
          'moves to newer runtimes with aws-cdk-lib upgrades.',
      },
    );
  }
}

/**
 * The console's build as an asset: Vite runs at synth (locally, like the functions' esbuild);
 * infra tests skip it as they skip bundling (`aws:cdk:bundling-stacks`).
 */
const consoleBuild = (sourceDir: string): s3deploy.ISource =>
  s3deploy.Source.asset(sourceDir, {
    exclude: ['dist', 'node_modules'],
    bundling: {
      // Never used: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      local: {
        tryBundle: (outputDir: string) => {
          const vite = join(sourceDir, '..', 'node_modules', 'vite', 'bin', 'vite.js');
          execFileSync(process.execPath, [vite, 'build', sourceDir, '--outDir', outputDir, '--emptyOutDir'], {
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          return true;
        },
      },
    },
  });
