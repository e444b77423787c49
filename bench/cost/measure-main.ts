/**
 * Runs the cost measurement in a process of its own and writes its result as JSON to the file
 * named by the first argument. Handler modules keep what they read at first use (clients bound
 * to an endpoint, the local JWKS): a local stack started earlier in the bench's process would
 * leave them pointing at emulators that are gone.
 */
import { writeFileSync } from 'node:fs';
import { measureCost } from './measure';

const out = process.argv[2];
if (!out) throw new Error('usage: measure-main.ts <result.json>');
writeFileSync(out, JSON.stringify(await measureCost()));
