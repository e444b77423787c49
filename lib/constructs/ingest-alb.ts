import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ALB_NOT_FOUND, albPathPattern, albRoutes } from '../front-door';
import { fallbackRoute } from '../routes';
import { functionId } from './functions';

export interface IngestAlbProps {
  readonly functionFor: (handlerModule: string) => lambda.IFunction;
  /** ACM certificate for the HTTPS listener (pulse:ingestCertificateArn): write keys never travel in clear. */
  readonly certificateArn: string;
}

/**
 * The ALB front door (pulse:frontDoor=alb): an internet-facing Application Load Balancer whose
 * HTTPS listener forwards each write-key route (lib/front-door.ts) to its handler module's function
 * by method and path, preflights to the `$default` function, and answers anything else itself with
 * problem+json 404. The VPC holds only the load balancer's nodes: public subnets in two zones, no
 * NAT gateway, no compute (Lambda targets run outside it).
 */
export class IngestAlb extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly vpc: ec2.Vpc;
  readonly url: string;

  constructor(scope: Construct, id: string, props: IngestAlbProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      // No custom resource (a Lambda with a managed policy) to strip the default group's rules:
      // nothing in this VPC uses the default security group.
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'The VPC holds only the load balancer (Lambda targets run outside it); its traffic is recorded ' +
        'by the load balancer access logs, so flow logs would bill the same requests twice.',
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Public ingestion endpoint: HTTPS from anywhere (SDKs on phones and browsers)',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from SDKs');
    Validations.of(securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The ingestion endpoint is public by design (mobile and web SDKs); each request is authenticated ' +
        'by its write key and rate-limited per source in the functions.',
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
      idleTimeout: Duration.seconds(60),
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'The stack is environment-agnostic, and the principal that delivers ALB access logs differs by ' +
        "Region (an ELB account per older Region, a service principal in newer ones); the README's " +
        '"ALB front door" shows the one command that turns them on for the Region deployed to.',
    });

    this.listener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      defaultAction: elbv2.ListenerAction.fixedResponse(ALB_NOT_FOUND.statusCode, {
        contentType: ALB_NOT_FOUND.contentType,
        messageBody: ALB_NOT_FOUND.body,
      }),
    });

    // One target group per handler module (a Lambda target group takes one function).
    const groups = new Map<string, elbv2.ApplicationTargetGroup>();
    const groupFor = (handlerModule: string) => {
      let group = groups.get(handlerModule);
      if (!group) {
        group = new elbv2.ApplicationTargetGroup(this, `${functionId(handlerModule)}Targets`, {
          targetType: elbv2.TargetType.LAMBDA,
          targets: [new targets.LambdaTarget(props.functionFor(handlerModule))],
        });
        groups.set(handlerModule, group);
      }
      return group;
    };

    // Preflights first: the `$default` function answers them with the configured CORS headers.
    this.listener.addAction('Preflight', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.httpRequestMethods(['OPTIONS'])],
      action: elbv2.ListenerAction.forward([groupFor(fallbackRoute.handler)]),
    });
    // One rule per handler module and method, its paths in groups of five (a rule's limit); literal
    // paths before patterns (`/api/engagement/events` before `/api/engagement/*`), as the route
    // table's own matcher ranks them; the function then picks the exact route again.
    const ordered = [...albRoutes].sort(
      (a, b) => Number(a.path.includes('{')) - Number(b.path.includes('{')),
    );
    const rules = new Map<string, { handler: string; method: string; paths: string[] }>();
    for (const route of ordered) {
      const key = `${route.handler} ${route.method} ${route.path.includes('{') ? 'pattern' : 'literal'}`;
      const group = rules.get(key) ?? { handler: route.handler, method: route.method, paths: [] as string[] };
      group.paths.push(albPathPattern(route.path));
      rules.set(key, group);
    }
    let priority = 10;
    for (const group of rules.values()) {
      for (let i = 0; i < group.paths.length; i += 5) {
        this.listener.addAction(`Route${priority}`, {
          priority: priority++,
          conditions: [
            elbv2.ListenerCondition.httpRequestMethods([group.method]),
            elbv2.ListenerCondition.pathPatterns(group.paths.slice(i, i + 5)),
          ],
          action: elbv2.ListenerAction.forward([groupFor(group.handler)]),
        });
      }
    }

    // Plain HTTP only redirects: a write key sent in clear is already leaked, but it is not accepted.
    this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    this.url = `https://${this.loadBalancer.loadBalancerDnsName}`;
  }
}
