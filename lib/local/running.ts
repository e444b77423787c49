/**
 * Where the running `npm start` is: a small file it writes under `.pulse/` and removes on stop, so
 * `npm run token` and `npm run demo` find its URL and the folder of the key its functions trust
 * (the `--data` folder, or `.pulse`) without being told again.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_KEY_DIR } from './keys';

export const RUNNING_STACK_FILE = join(DEFAULT_KEY_DIR, 'local-stack.json');

export interface RunningStack {
  /** The API as people type it (http://localhost:3000). */
  readonly url: string;
  /** Absolute; absent in memory mode. */
  readonly dataDir?: string;
  /** Absolute folder of the local signing keys (ensureLocalKeys). */
  readonly keyDir: string;
  readonly pid: number;
}

/** Whether a process runs (signal 0 checks without signalling). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export const writeRunningStack = (stack: Omit<RunningStack, 'pid'>, file = RUNNING_STACK_FILE): void => {
  mkdirSync(dirname(file), { recursive: true });
  const running: RunningStack = {
    ...stack,
    keyDir: resolve(stack.keyDir),
    ...(stack.dataDir ? { dataDir: resolve(stack.dataDir) } : {}),
    pid: process.pid,
  };
  writeFileSync(file, `${JSON.stringify(running, null, 2)}\n`);
};

/** Removes the file if this process wrote it (a second `npm start` may have taken it over). */
export const removeRunningStack = (file = RUNNING_STACK_FILE): void => {
  if (readRunningStack(file)?.pid === process.pid) rmSync(file, { force: true });
};

/** The stack `npm start` is running, or undefined (none, or the file outlived a killed process). */
export const readRunningStack = (file = RUNNING_STACK_FILE): RunningStack | undefined => {
  if (!existsSync(file)) return undefined;
  try {
    const running = JSON.parse(readFileSync(file, 'utf8')) as RunningStack;
    return typeof running.url === 'string' && typeof running.keyDir === 'string' && processAlive(running.pid)
      ? running
      : undefined;
  } catch {
    // Half-written or hand-edited: as good as absent; the callers fall back to the defaults.
    return undefined;
  }
};

/**
 * The key folder a tool should sign with: `--data` when given, else the running stack's, else the
 * default `.pulse` (where a stack without `--data` keeps its keys).
 */
export const keyDirFor = (dataFlag: string | undefined, running = readRunningStack()): string =>
  dataFlag ?? running?.keyDir ?? DEFAULT_KEY_DIR;
