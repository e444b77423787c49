/**
 * `npm run token -- --role admin|analyst [--sub NAME] [--ttl SECONDS] [--data DIR]`: mint a
 * JWT the local stack accepts (signed with its local key, shaped like a Cognito ID token).
 * Prints only the token, so `TOKEN=$(npm run -s token -- --role admin)` works.
 *
 * The key is the running stack's (`npm start` says where it is in .pulse/local-stack.json), so
 * a stack started with --data needs no --data here; without a running stack, .pulse's.
 */
import { parseArgs } from 'node:util';
import { ensureLocalKeys, mintToken } from '../lib/local/keys';
import { keyDirFor, RUNNING_STACK_FILE } from '../lib/local/running';

const USAGE = `usage: npm run -s token -- --role admin|analyst [--sub NAME] [--ttl SECONDS] [--data DIR]

Signs with the key of the stack npm start is running (found through ${RUNNING_STACK_FILE});
--data DIR signs with the key kept in DIR instead.
`;

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'analyst' },
    sub: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || !['admin', 'analyst', 'none'].includes(values.role)) {
  process.stderr.write(USAGE);
  process.exit(values.help ? 0 : 2);
}

const keys = await ensureLocalKeys(keyDirFor(values.data));
const token = await mintToken(keys, {
  role: values.role as 'admin' | 'analyst' | 'none',
  ttlSeconds: Number(values.ttl),
  ...(values.sub ? { subject: values.sub } : {}),
});
process.stdout.write(`${token}\n`);
