import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ROLE_GROUPS } from '../config';

export type MfaMode = 'optional' | 'required';

export interface PulseAuthProps {
  readonly deletionProtection: boolean;
  readonly removalPolicy: RemovalPolicy;
  /** `optional` lets analysts enrol TOTP; `required` enforces it (initiate-auth then answers a challenge). */
  readonly mfa: MfaMode;
  /** Plus feature plan with enforced threat protection (compromised credentials, risky sign-ins). */
  readonly threatProtection: boolean;
}

/**
 * The Cognito user pool whose JWTs analysts and admins present. The functions verify the tokens
 * themselves (no API Gateway authorizers: see NO_AUTHORIZER_REASON in api.ts); the role is the `cognito:groups` claim.
 */
export class PulseAuth extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: PulseAuthProps) {
    super(scope, id);

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      // Staff accounts only: admins create users (aws cognito-idp admin-create-user).
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // TOTP only: SMS needs an SNS role and costs per message.
      mfa: props.mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      ...(props.threatProtection
        ? {
            featurePlan: cognito.FeaturePlan.PLUS,
            standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
          }
        : { featurePlan: cognito.FeaturePlan.ESSENTIALS }),
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
    });
    if (props.mfa !== 'required') {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional (TOTP) by default so analysts and scripts can mint tokens with a plain ' +
          '`aws cognito-idp initiate-auth` as the README documents; pulse:mfa=required enforces it.',
      });
    }
    if (!props.threatProtection) {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'Threat protection (Plus plan, billed per active user) was switched off with ' +
          'pulse:threatProtection=false for this deployment; the default enables it.',
      });
    }

    // Precedence decides which group's role Cognito puts first; admin outranks analyst.
    const precedence: Record<keyof typeof ROLE_GROUPS, number> = { admin: 0, analyst: 10 };
    for (const [key, groupName] of Object.entries(ROLE_GROUPS) as [keyof typeof ROLE_GROUPS, string][]) {
      new cognito.UserPoolGroup(this, `Group${groupName[0]?.toUpperCase()}${groupName.slice(1)}`, {
        userPool: this.userPool,
        groupName,
        precedence: precedence[key],
        description: `Pulse role: ${groupName}`,
      });
    }

    this.client = this.userPool.addClient('Client', {
      // A public client: CLIs and scripts cannot keep a secret.
      generateSecret: false,
      authFlows: { userPassword: true, userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
  }
}
