/**
 * The console on the local stack: `npm start` serves console/dist at `/console/` beside the API
 * (same origin, so no CORS), builds it first with Vite when it is missing or older than its
 * sources, and stands in for Cognito's Hosted UI with a sign-in that mints a dev token for a
 * chosen role (signed with the local key the functions trust; answered to loopback callers only).
 * The same security headers as the CloudFront distribution (lib/constructs/console.ts).
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_SECURITY_HEADERS, consoleCsp } from '../console-headers';
import { type LocalKeys, mintToken } from './keys';

export const CONSOLE_PATH = '/console';
const ROOT = resolve(fileURLToPath(new URL('../../console', import.meta.url)));
const DIST = join(ROOT, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Newest modification time under a folder (the console's sources). */
const newest = (path: string): number => {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
};

/** Is console/dist missing or older than what it is built from? */
export const consoleStale = (root = ROOT): boolean => {
  const built = join(root, 'dist', 'index.html');
  if (!existsSync(built)) return true;
  const sources = ['src', 'index.html', 'vite.config.ts'].map((f) => join(root, f)).filter(existsSync);
  return Math.max(...sources.map(newest)) > statSync(built).mtimeMs;
};

/**
 * Build console/dist with Vite's build API (vite is a dev dependency: loaded only here), into a
 * folder of its own first and then renamed into place: two stacks starting at once (test files
 * run in parallel) never serve or build over each other's half-written files.
 */
export const buildConsole = async (root = ROOT): Promise<void> => {
  const { build } = await import('vite');
  const dist = join(root, 'dist');
  const fresh = `${dist}.build-${process.pid}-${Date.now()}`;
  const old = `${dist}.old-${process.pid}-${Date.now()}`;
  try {
    await build({
      configFile: join(root, 'vite.config.ts'),
      root,
      logLevel: 'warn',
      build: { outDir: fresh, emptyOutDir: true },
    });
    try {
      if (existsSync(dist)) renameSync(dist, old);
      renameSync(fresh, dist);
    } catch (error) {
      // Another start put its own fresh build in place meanwhile: the same sources, so keep that.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
};

export interface ConsoleServerOptions {
  keys: LocalKeys;
  /** Build console/dist when stale (default true); false serves what is there. */
  build?: boolean;
  logger?: Pick<Console, 'info' | 'warn'>;
}

const isLoopback = (address: string | undefined) =>
  address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';

const send = (
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): true => {
  res.writeHead(status, {
    ...CONSOLE_SECURITY_HEADERS,
    'content-security-policy': consoleCsp([]),
    'content-type': type,
    ...extra,
  });
  res.end(body);
  return true;
};

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024) throw new Error('too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
};

/**
 * The request handler for `/console…`: answers and returns true, or returns false for any other
 * path (the gateway serves it).
 */
export const createConsoleServer = async (options: ConsoleServerOptions) => {
  if (options.build !== false && consoleStale()) {
    options.logger?.info('[console] building console/dist with Vite…');
    await buildConsole();
  }
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
    if (path === CONSOLE_PATH) {
      res.writeHead(308, { location: `${CONSOLE_PATH}/` });
      res.end();
      return true;
    }
    const rest = path.slice(CONSOLE_PATH.length + 1);
    if (rest === 'config.json')
      return send(
        res,
        200,
        TYPES['.json'] as string,
        JSON.stringify({ apiUrl: '', auth: { kind: 'local' } }),
        {
          'cache-control': 'no-store',
        },
      );
    if (rest === 'local-token') {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only', { allow: 'POST' });
      if (!isLoopback(req.socket.remoteAddress))
        return send(res, 403, 'text/plain', 'Local sign-in answers this machine only');
      let role: unknown;
      try {
        role = ((await readJson(req)) as { role?: unknown }).role;
      } catch {
        role = undefined;
      }
      if (role !== 'admin' && role !== 'analyst')
        return send(res, 400, 'text/plain', 'role must be admin or analyst');
      const token = await mintToken(options.keys, { role, subject: `local-${role}`, ttlSeconds: 3600 });
      return send(res, 200, TYPES['.json'] as string, JSON.stringify({ token }), {
        'cache-control': 'no-store',
      });
    }
    // A file of the build, else the app itself (its routes live after `#`).
    const file = normalize(join(DIST, rest));
    const inside = file.startsWith(`${DIST}${sep}`);
    const target = inside && existsSync(file) && statSync(file).isFile() ? file : join(DIST, 'index.html');
    if (!existsSync(target))
      return send(res, 503, 'text/plain', 'The console is not built: run npm start again');
    const hashed = target.includes(`${sep}assets${sep}`);
    send(res, 200, TYPES[extname(target)] ?? 'application/octet-stream', readFileSync(target), {
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    return true;
  };
};
