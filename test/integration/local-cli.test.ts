/**
 * `npm start`, `npm run token` and `npm run demo` as a newcomer runs them, each in a fresh folder:
 * usage on --help, a quiet log, the same dev write key from one start to the next, token and demo
 * finding the running stack through its state file (gone after Ctrl-C), and a taken port
 * answered with the flag to change.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RUNNING_STACK_FILE, type RunningStack } from '../../lib/local/running';

const REPO = join(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const cwd = mkdtempSync(join(tmpdir(), 'pulse-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const run = (script: string, args: string[]): Run => {
  // As from a newcomer's shell: none of the variables a test run or a developer may have set.
  const {
    POWERTOOLS_LOG_LEVEL: _level,
    AWS_ENDPOINT_URL_DYNAMODB: _dynamodb,
    AWS_ENDPOINT_URL_KINESIS: _kinesis,
    ...env
  } = process.env;
  // Node itself with tsx's loader, not the tsx CLI: the CLI relays SIGINT to its child and kills it
  // (exit 130) when the child does not confirm within 30 ms, which a loaded machine can miss.
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(REPO, script), ...args], { cwd, env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
};

/** Polls with a deadline; never a fixed sleep. */
const until = async (what: string, check: () => boolean, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const startStack = async (args: string[] = []) => {
  const stack = run('bin/local.ts', ['--port', '0', ...args]);
  await until(
    'the banner',
    () => stack.stdout().includes('Ctrl-C to stop.') || stack.child.exitCode !== null,
  );
  expect(stack.stderr()).toBe('');
  const writeKey = /Write key\s+(\S+)/.exec(stack.stdout())?.[1];
  const running = JSON.parse(readFileSync(join(cwd, RUNNING_STACK_FILE), 'utf8')) as RunningStack;
  return { ...stack, writeKey, running };
};

const stopStack = async (stack: Run) => {
  stack.child.kill('SIGINT');
  expect(await stack.exited).toBe(0);
};

describe('npm start, token and demo', () => {
  it('print their usage on --help', { timeout: 120_000 }, async () => {
    const start = run('bin/local.ts', ['--help']);
    const demo = run('bin/demo.ts', ['--help']);
    const token = run('bin/token.ts', ['--help']);
    expect(await start.exited).toBe(0);
    expect(await demo.exited).toBe(0);
    expect(await token.exited).toBe(0);
    expect(start.stdout()).toContain('--verbose');
    for (const option of ['--url', '--users', '--campaigns', '--concurrency', '--data', '--timeout'])
      expect(demo.stdout()).toContain(option);
    expect(demo.stderr()).toBe('');
    expect(token.stderr()).toContain('--role');
  });

  // Each test starts real processes: minutes on a loaded 2-core machine, seconds otherwise.
  it('runs quietly, and token and demo find the running stack; the state file goes with it', {
    timeout: 180_000,
  }, async () => {
    const stack = await startStack(['--data', 'kept']);
    try {
      expect(stack.running).toMatchObject({ keyDir: join(cwd, 'kept'), dataDir: join(cwd, 'kept') });
      expect(stack.stdout()).toContain(
        'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws dynamodb scan',
      );

      // No --data: the token is signed with the key of the stack that runs with --data kept.
      const token = run('bin/token.ts', ['--role', 'analyst']);
      expect(await token.exited).toBe(0);
      const res = await fetch(`${stack.running.url}/api/metrics/campaigns`, {
        headers: { authorization: `Bearer ${token.stdout().trim()}` },
      });
      expect(res.status).toBe(200);
      // A token the stack does not trust: the 401 says how to get one it does.
      const stranger = await fetch(`${stack.running.url}/api/metrics/campaigns`, {
        headers: { authorization: 'Bearer not.a.token' },
      });
      expect(stranger.status).toBe(401);
      expect(((await stranger.json()) as { detail: string }).detail).toContain(
        'npm run -s token -- --role analyst|admin mints one it trusts',
      );

      const consent = await fetch(`${stack.running.url}/api/users/u1/consent`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.writeKey ?? '' },
        body: JSON.stringify({ purposes: { analytics: true }, policyVersion: '2026-01' }),
      });
      expect(consent.status).toBe(200);
      // The demo too: no --url, no --data.
      const demo = run('bin/demo.ts', ['--users', '3', '--campaigns', '1']);
      expect(await demo.exited, demo.stderr()).toBe(0);
      expect(demo.stdout()).toContain('sent = counted for every campaign and type: yes');

      // A second start on the same port: the answer names the flag to change.
      const port = new URL(stack.running.url).port;
      const clash = run('bin/local.ts', ['--port', port]);
      expect(await clash.exited).toBe(1);
      expect(clash.stderr()).toContain(`Port ${port} is already in use`);
      expect(clash.stderr()).toContain('--port');

      // Quiet: the functions' info lines (a consent recorded, events accepted, batches applied) stay out.
      const afterBanner = stack.stdout().split('Ctrl-C to stop.')[1] ?? '';
      expect(afterBanner.trim()).toBe('');
    } finally {
      await stopStack(stack);
    }
    expect(existsSync(join(cwd, RUNNING_STACK_FILE))).toBe(false);
  });

  it('keeps one dev write key in memory mode, from one start to the next', { timeout: 180_000 }, async () => {
    const first = await startStack();
    await stopStack(first);
    const second = await startStack();
    try {
      expect(first.writeKey).toMatch(/^sk_/);
      expect(second.writeKey).toBe(first.writeKey);
      const consent = await fetch(`${second.running.url}/api/users/u1/consent`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-api-key': second.writeKey ?? '' },
        body: JSON.stringify({ purposes: { analytics: true }, policyVersion: '2026-01' }),
      });
      expect(consent.status).toBe(200);
    } finally {
      await stopStack(second);
    }
  });
});
