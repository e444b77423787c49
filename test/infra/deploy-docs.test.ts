/**
 * The README's deploy section, held to the synthesized stack: its commands are the first thing a
 * user runs against a new deployment, and synth cannot tell whether Cognito, CloudFormation or the
 * API will accept them. Each command is parsed and checked against the settings it depends on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_DEFAULTS } from '../../lib/pulse-stack';
import { resolveRoute } from '../../lib/routes';
import { eventStream } from '../../lib/stream';
import { resourcesOfType, synth } from '../support/synth';

const { json } = synth();

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const section = (heading: string): string => {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};
const deploying = section('Deploying');

/** Every shell command of the section's bash blocks, continuation lines joined, comments dropped. */
const commands: string[] = [...deploying.matchAll(/```bash\n([\s\S]*?)```/g)]
  .flatMap((m) => (m[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n'))
  .map((line) => line.replace(/\s+#\s.*$/, '').trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** Naive shell words: quotes removed, enough for the flags these commands use. */
const words = (command: string): string[] =>
  [...command.matchAll(/'[^']*'|"(?:[^"\\]|\\.)*"|\S+/g)].map((m) => m[0].replace(/^['"]|['"]$/g, ''));
const flag = (command: string, name: string): string | undefined => {
  const w = words(command);
  const i = w.indexOf(name);
  return i < 0 ? undefined : w[i + 1];
};
const flagValues = (command: string, name: string): string[] => {
  const w = words(command);
  const i = w.indexOf(name);
  if (i < 0) return [];
  const rest = w.slice(i + 1);
  const next = rest.findIndex((x) => x.startsWith('--'));
  return next < 0 ? rest : rest.slice(0, next);
};
const commandsOf = (prefix: string): string[] => commands.filter((c) => c.includes(prefix));
const one = (prefix: string): string => {
  const found = commandsOf(prefix);
  expect(found, prefix).toHaveLength(1);
  return found[0] as string;
};

const [[, pool] = []] = resourcesOfType(json, 'AWS::Cognito::UserPool');
const [[, client] = []] = resourcesOfType(json, 'AWS::Cognito::UserPoolClient');
const aliases = (pool?.Properties.AliasAttributes as string[] | undefined) ?? [];
const usernameAttributes = (pool?.Properties.UsernameAttributes as string[] | undefined) ?? [];
/** Shell: `$API` without its trailing slash. */
const STRIP_TRAILING_SLASH = ['API=$', '{API%/}'].join('');
const EMAIL_SHAPED = /^[^@\s]+@[^@\s]+$/;

describe('README deploy section: the first admin', () => {
  const create = one('cognito-idp admin-create-user');
  const username = flag(create, '--username') as string;
  const attributes = flagValues(create, '--user-attributes');

  it('creates a user name Cognito accepts under the pool sign-in settings', () => {
    expect(username).toBeTruthy();
    // With email as an alias, Cognito refuses an email-shaped user name; as the user name
    // attribute, it requires one.
    if (aliases.includes('email')) expect(username).not.toMatch(EMAIL_SHAPED);
    if (usernameAttributes.includes('email')) expect(username).toMatch(EMAIL_SHAPED);
  });

  it('gives the user a verified e-mail when e-mail is an alias or the recovery channel', () => {
    const setting = pool?.Properties.AccountRecoverySetting as
      | { RecoveryMechanisms: { Name: string }[] }
      | undefined;
    const recovery = (setting?.RecoveryMechanisms ?? []).map((m) => m.Name);
    if (!aliases.includes('email') && !recovery.includes('verified_email')) return;
    expect(attributes.find((a) => a.startsWith('Name=email,'))).toMatch(/^Name=email,Value=[^@\s]+@[^@\s]+$/);
    expect(attributes).toContain('Name=email_verified,Value=true');
  });

  it('names the same user in every admin command and signs in as that user', () => {
    for (const c of commandsOf('cognito-idp admin-')) expect(flag(c, '--username'), c).toBe(username);
    const signIn = one('cognito-idp initiate-auth');
    expect(flag(signIn, '--auth-parameters')).toMatch(new RegExp(`^USERNAME=${username},PASSWORD=`));
  });

  it('adds the user to a group the pool has', () => {
    const groups = resourcesOfType(json, 'AWS::Cognito::UserPoolGroup').map(
      ([, g]) => g.Properties.GroupName,
    );
    expect(groups).toContain(flag(one('admin-add-user-to-group'), '--group-name'));
  });

  it('signs in with a flow the app client allows', () => {
    const signIn = one('cognito-idp initiate-auth');
    expect(flag(signIn, '--client-id')).toBe('$CLIENT');
    expect(client?.Properties.ExplicitAuthFlows).toContain(`ALLOW_${flag(signIn, '--auth-flow')}`);
  });
});

describe('README deploy section: outputs and the API', () => {
  it('reads the stack it deployed, by outputs the stack has', () => {
    const stack = commands.find((c) => c.startsWith('STACK='));
    expect(stack).toBe(`STACK=Pulse-${SETTING_DEFAULTS.stage}`);
    const used = [...deploying.matchAll(/\$\(out (\w+)\)/g)].map((m) => m[1] as string);
    expect(used).toEqual(
      expect.arrayContaining(['ApiUrl', 'UserPoolId', 'UserPoolClientId', 'AlarmTopicArn']),
    );
    for (const key of used) expect(Object.keys(json.Outputs ?? {}), key).toContain(key);
  });

  it('joins paths to the API URL without a double slash', () => {
    const apiUrl = JSON.stringify(json.Outputs?.ApiUrl?.Value);
    // The $default stage's URL ends with a slash; `$API/api/...` would then ask for `//api/...`.
    if (apiUrl.endsWith('/"]]}')) expect(deploying).toContain(STRIP_TRAILING_SLASH);
  });

  it('calls routes the API has, with the credential they take', () => {
    const calls = commandsOf('curl').map((c) => ({
      method: flag(c, '-X') ?? 'GET',
      path: (words(c).find((w) => w.startsWith('$API/')) ?? '').slice('$API'.length),
      bearer: c.includes('Bearer $ID_TOKEN'),
    }));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const { route } = resolveRoute(call.method, call.path);
      expect(route, `${call.method} ${call.path}`).toBeDefined();
      if (route?.auth === 'admin' || route?.auth === 'analyst') expect(call.bearer).toBe(true);
    }
  });
});

describe('README deploy section: alarms and CI', () => {
  it('fires a test alarm, found through the alarm topic every alarm notifies', () => {
    const fire = one('aws cloudwatch set-alarm-state');
    expect(flag(fire, '--state-value')).toBe('ALARM');
    expect(flag(fire, '--state-reason')).toBeTruthy();
    expect(fire).toContain('describe-alarms --action-prefix $TOPIC');
    expect(resourcesOfType(json, 'AWS::CloudWatch::Alarm').length).toBeGreaterThan(0);
  });

  it('shows the CI deploy without the approval prompt', () => {
    expect(
      commands.some((c) => c.startsWith('npm run deploy --') && c.includes('--require-approval never')),
    ).toBe(true);
  });

  it('lists the go-live checks', () => {
    for (const check of ['Lambda concurrency', 'Alarm e-mail', 'Deploys from CI', 'What an idle stage costs'])
      expect(deploying).toContain(`**${check}`);
  });
});

describe('README storage table', () => {
  it('lists the stream with its retention, the delay before erasure reaches it', () => {
    const row = section('Privacy & security')
      .split('\n')
      .find((line) => line.startsWith('| event stream'));
    expect(row).toContain(`${eventStream.retentionHours} hours`);
  });
});
