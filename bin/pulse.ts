/**
 * The Pulse CDK app: `npm run synth` (offline, no credentials), `npm run deploy`.
 *
 * Context keys (cdk.json, or `-c pulse:key=value` on the command line):
 *
 * | key                          | default     | meaning |
 * |------------------------------|-------------|---------|
 * | pulse:stage                  | dev         | Stage name: the stack is `Pulse-<stage>`, functions read it from PULSE_STAGE. Lowercase, digits, dashes. |
 * | pulse:shardMode              | on-demand   | Kinesis capacity mode: `on-demand` or `provisioned`. |
 * | pulse:shardCount             | 2           | Shards when `pulse:shardMode=provisioned` (ignored on demand). |
 * | pulse:consentMode            | off         | `required` (API.md's default: ingest needs a consent token) or `off`. cdk.json ships `off` for dev. |
 * | pulse:eventHorizonDays       | 30          | Oldest event accepted, in days before receipt (PULSE_EVENT_HORIZON_DAYS). |
 * | pulse:deletionProtection     | false       | Deletion protection on the DynamoDB tables and the user pool. Turn on for production. |
 * | pulse:removalPolicy          | retain      | `retain` keeps tables, stream, buckets, user pool, key and log groups when the stack is deleted; `destroy` (dev only) deletes them (non-empty buckets still block deletion). Refused with deletionProtection. |
 * | pulse:logRetentionDays       | 30          | Retention of every log group (functions, API access log); a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, ...). |
 * | pulse:failureRetentionDays   | 30          | Days failed stream batches stay in the on-failure bucket (they hold event payloads). |
 * | pulse:throttleRateLimit      | 1000        | API default stage steady-state rate limit (requests/second). |
 * | pulse:throttleBurstLimit     | 2000        | API default stage burst limit (requests). |
 * | pulse:corsOrigins            | (none)      | Comma-separated browser origins allowed by CORS (`*` for any); none: no CORS, API Gateway adds no CORS headers. |
 * | pulse:kmsKey                 | false       | `true`: one customer managed KMS key (rotated yearly) encrypts the stream, the tables and the alarm topic instead of AWS managed keys ($1/month plus requests). |
 * | pulse:mfa                    | optional    | Cognito MFA (TOTP): `optional` or `required`. |
 * | pulse:threatProtection       | true        | Cognito Plus feature plan with enforced threat protection (billed per monthly active user). |
 * | pulse:alarmEmail             | (none)      | Email address subscribed to the alarm topic (confirm the subscription mail). |
 *
 * The stack is environment-agnostic (no account/region lookups): deploy wherever the AWS CLI
 * profile points. cdk-nag's AwsSolutions pack runs on every synth; acknowledged findings are in the
 * code next to their constructs, each with its reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PulseStack, readSettings } from '../lib/pulse-stack';

const app = new App();
const settings = readSettings(app.node);

new PulseStack(app, `Pulse-${settings.stage}`, {
  settings,
  description: `Pulse engagement tracking backend (${settings.stage})`,
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
