/**
 * The bit of the Lambda runtime the local stack needs: load a handler module once (lazily, so it
 * reads process.env after the stack has set it), build a Lambda-like context, and invoke with
 * Lambda's timeout. Shared by the API Gateway emulator and the event source mapping emulator.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

// biome-ignore lint/suspicious/noExplicitAny: handlers take and return whatever their trigger defines
export type LambdaHandler = (event: any, context: Context) => unknown;

/** Finds the `handler` export of a handler module named as in the route table (`ingest/engagement`). */
export type HandlerResolver = (handler: string) => Promise<LambdaHandler>;

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_FUNCTIONS_DIR = join(REPO_ROOT, 'functions');
/** Account every local ARN carries; kinesalite and dynalite use the same one. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** Lambda's synchronous invocation limit, for the request and for the response (6 MB). */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

const moduleFile = (functionsDir: string, handler: string): string | undefined => {
  const base = join(functionsDir, handler);
  for (const candidate of [
    ...EXTENSIONS.map((e) => base + e),
    ...EXTENSIONS.map((e) => join(base, `index${e}`)),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
};

/**
 * A resolver that imports `<functionsDir>/<handler>.ts` (or .js) once per module, on first use.
 * A failed import is not cached, as Lambda retries a failed init on the next invocation.
 */
export const createHandlerResolver = (functionsDir: string = DEFAULT_FUNCTIONS_DIR): HandlerResolver => {
  const cache = new Map<string, Promise<LambdaHandler>>();
  return (handler) => {
    let loaded = cache.get(handler);
    if (!loaded) {
      loaded = (async () => {
        const file = moduleFile(functionsDir, handler);
        if (!file) throw new Error(`Handler module ${handler} not found under ${functionsDir}`);
        const mod = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { handler?: unknown };
        if (typeof mod.handler !== 'function') throw new Error(`${file} does not export a handler function`);
        return mod.handler as LambdaHandler;
      })();
      cache.set(handler, loaded);
      loaded.catch(() => cache.delete(handler));
    }
    return loaded;
  };
};

/** Local function name for a handler module or consumer: `pulse-local-ingest-engagement`. */
export const localFunctionName = (name: string): string =>
  `pulse-local-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`;

export const functionArn = (region: string, name: string): string =>
  `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`;

export interface InvokeOptions {
  /** The handler module invoked (`ingest/engagement`): whose lib/access.ts entry its calls are held to. */
  handlerModule: string;
  functionName: string;
  region: string;
  timeoutMs: number;
  memoryLimitInMB?: number;
  requestId?: string;
}

const logStreamName = (): string => {
  const d = new Date();
  const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
};

export const createContext = (options: InvokeOptions, deadline: number): Context => {
  const warn = (name: string) => () => {
    console.warn(`[local lambda] ${options.functionName}: context.${name}() is deprecated and ignored here`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(options.region, options.functionName),
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: logStreamName(),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: warn('done'),
    fail: warn('fail'),
    succeed: warn('succeed'),
  };
};

/** What runs now: one process serves every function, so the local IAM check asks this. */
export interface Invocation {
  readonly handlerModule: string;
  readonly functionName: string;
}

const invocations = new AsyncLocalStorage<Invocation>();

/** The invocation whose code is running (through every await it makes); none outside handlers. */
export const currentInvocation = (): Invocation | undefined => invocations.getStore();

export class LambdaTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'Sandbox.Timedout';
  }
}

/**
 * Invokes a handler as Lambda does: a fresh context, and a timeout after which the invocation
 * counts as failed (the handler's promise cannot be killed in-process; it is left to settle).
 */
export const invokeHandler = async (
  handler: LambdaHandler,
  event: unknown,
  options: InvokeOptions,
): Promise<{ result: unknown; context: Context }> => {
  const deadline = Date.now() + options.timeoutMs;
  const context = createContext(options, deadline);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdaTimeoutError(options.timeoutMs)), options.timeoutMs);
    timer.unref();
  });
  try {
    const invocation: Invocation = {
      handlerModule: options.handlerModule,
      functionName: options.functionName,
    };
    const run = invocations.run(invocation, () => Promise.resolve().then(() => handler(event, context)));
    const result = await Promise.race([run, timeout]);
    return { result, context };
  } finally {
    clearTimeout(timer);
  }
};
