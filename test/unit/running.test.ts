import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addressInUseHint } from '../../bin/local';
import { DEFAULT_KEY_DIR } from '../../lib/local/keys';
import { keyDirFor, readRunningStack, removeRunningStack, writeRunningStack } from '../../lib/local/running';

const dir = mkdtempSync(join(tmpdir(), 'pulse-running-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the running stack file', () => {
  it('says where the stack is while it runs, and is gone after it', () => {
    const file = join(dir, 'a', 'local-stack.json');
    writeRunningStack({ url: 'http://localhost:3000', keyDir: 'data', dataDir: 'data' }, file);
    const running = readRunningStack(file);
    expect(running).toEqual({
      url: 'http://localhost:3000',
      keyDir: resolve('data'),
      dataDir: resolve('data'),
      pid: process.pid,
    });
    expect(keyDirFor(undefined, running)).toBe(resolve('data'));
    expect(keyDirFor('other', running)).toBe('other');
    removeRunningStack(file);
    expect(readRunningStack(file)).toBeUndefined();
    expect(keyDirFor(undefined, undefined)).toBe(DEFAULT_KEY_DIR);
  });

  it('is ignored when its process is gone, or when it is not JSON', () => {
    const stale = join(dir, 'stale.json');
    // Far above any pid_max: no such process.
    writeFileSync(stale, JSON.stringify({ url: 'http://localhost:3000', keyDir: '/k', pid: 2 ** 30 }));
    expect(readRunningStack(stale)).toBeUndefined();
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"url": "http://local');
    expect(readRunningStack(broken)).toBeUndefined();
  });

  it('is left alone by another process that did not write it', () => {
    const file = join(dir, 'theirs.json');
    writeFileSync(file, JSON.stringify({ url: 'http://localhost:3000', keyDir: '/k', pid: process.ppid }));
    removeRunningStack(file);
    expect(readRunningStack(file)?.pid).toBe(process.ppid);
  });
});

describe('a taken port', () => {
  const taken = (port: number) => Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port });

  it('is answered with the flag that moves it', () => {
    expect(addressInUseHint(taken(3000), { api: 3000 })).toMatch(/--port, e\.g\. npm start -- --port 3001$/);
    expect(addressInUseHint(taken(8000), { api: 3000, dynamodb: 8000 })).toContain('--dynamodb-port');
    expect(addressInUseHint(taken(4567), { api: 3000, kinesis: 4567 })).toContain('--kinesis-port');
    expect(addressInUseHint(new Error('other'), { api: 3000 })).toBeUndefined();
  });
});
