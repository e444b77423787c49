/**
 * `npm run token -- --role admin|analyst [--sub NAME] [--ttl SECONDS] [--data DIR]`: mint a
 * JWT the local stack accepts (signed with its local key, shaped like a Cognito ID token).
 * Prints only the token, so `TOKEN=$(npm run -s token -- --role admin)` works.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_KEY_DIR, ensureLocalKeys, mintToken } from '../lib/local/keys';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'analyst' },
    sub: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    data: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || !['admin', 'analyst', 'none'].includes(values.role)) {
  process.stderr.write(
    'usage: npm run -s token -- --role admin|analyst [--sub NAME] [--ttl SECONDS] [--data DIR]\n',
  );
  process.exit(values.help ? 0 : 2);
}

const keys = await ensureLocalKeys(values.data ?? DEFAULT_KEY_DIR);
const token = await mintToken(keys, {
  role: values.role as 'admin' | 'analyst' | 'none',
  ttlSeconds: Number(values.ttl),
  ...(values.sub ? { subject: values.sub } : {}),
});
process.stdout.write(`${token}\n`);
