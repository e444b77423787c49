/**
 * Environment contract between the stack (CDK or local) and the functions: the variable names
 * every function may read, set once here. Plain data, no aws-cdk-lib.
 */

export const ENV = {
  stage: 'PULSE_STAGE',
  /** `required` (API.md default), `off`. */
  consentMode: 'PULSE_CONSENT_MODE',
  /** Oldest accepted event, in days before receipt (mobile SDKs queue offline). */
  eventHorizonDays: 'PULSE_EVENT_HORIZON_DAYS',
  userPoolId: 'COGNITO_USER_POOL_ID',
  userPoolClientId: 'COGNITO_CLIENT_ID',
  /** Local stack only: JWKS (JSON) the JWT verifier trusts instead of fetching Cognito's. */
  localJwks: 'PULSE_LOCAL_JWKS',
  /** Local stack only: folder standing in for the S3 on-failure destination. */
  localFailureDir: 'PULSE_LOCAL_FAILURE_DIR',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

export const METRICS_NAMESPACE = 'Pulse';

export const DEFAULTS = {
  stage: 'dev',
  consentMode: 'off',
  eventHorizonDays: 30,
  region: 'us-east-1',
  /** Local Cognito-shaped pool id: the same verifier runs locally with a local JWKS. */
  localUserPoolId: 'us-east-1_PulseLocal',
  localUserPoolClientId: 'pulse-local-client',
} as const;

/** Cognito groups that carry a role. */
export const ROLE_GROUPS = { analyst: 'analyst', admin: 'admin' } as const;
