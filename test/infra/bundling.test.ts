/**
 * Real local esbuild bundling (no Docker) over stub entries: the bundle is ESM with the require
 * banner, minified, source-mapped, and carries the AWS SDK inside instead of importing the
 * runtime's copy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '../../lib/constructs/functions';
import { allHandlerModules, resourceById, synth } from '../support/synth';

const SDK_STUB = `
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
const client = new KinesisClient({});
export const handler = async (event: { body?: string }) => {
  const longDescriptiveVariableName = { Records: [], StreamName: event.body ?? 'x' };
  await client.send(new PutRecordsCommand(longDescriptiveVariableName));
  return { statusCode: 202 };
};
`;

const { json, stack, logicalId, workDir } = synth({
  bundle: true,
  stubBodies: { 'ingest/engagement': SDK_STUB },
});

const bundleOf = (handlerModule: string): { dir: string; code: string } => {
  const fn = stack.functions.get(handlerModule);
  if (!fn) throw new Error(`no function for ${handlerModule}`);
  const key = (resourceById(json, logicalId(fn.fn)).Properties.Code as { S3Key: string }).S3Key;
  const dir = join(workDir, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
  return { dir, code: readFileSync(join(dir, 'index.mjs'), 'utf8') };
};

describe('bundling', () => {
  it.each(allHandlerModules())('%s: ESM bundle with the require banner and a source map', (handlerModule) => {
    const { dir, code } = bundleOf(handlerModule);
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
  });

  it('bundles the AWS SDK (no import of the runtime copy) and minifies', () => {
    const { code } = bundleOf('ingest/engagement');
    expect(code).not.toMatch(/(from|import\()\s*["']@aws-sdk\//);
    expect(code).toContain('PutRecords');
    expect(code).not.toContain('longDescriptiveVariableName');
  });
});
