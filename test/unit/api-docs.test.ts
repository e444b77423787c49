/**
 * docs/api.md cannot drift from the code: its generated part is what `npm run docs:api` would
 * write from the route table and the contracts today. And the repository's docs and comments
 * cite only what is in the repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  API_DOCS_PATH,
  BEGIN_MARKER,
  END_MARKER,
  renderApiReference,
  withGeneratedReference,
} from '../../bin/api-docs';
import { routes } from '../../lib/routes';

const current = readFileSync(API_DOCS_PATH, 'utf8');

describe('docs/api.md', () => {
  it('holds exactly what the generator writes: run `npm run docs:api` after changing a route or a contract', () => {
    expect(withGeneratedReference(current)).toBe(current);
  });

  it('documents every route of the route table, each with its own section', () => {
    const reference = renderApiReference();
    for (const route of routes) {
      expect(reference).toContain(`| ${route.method} | [\`${route.path}\`](#${route.id.toLowerCase()}) |`);
      expect(reference).toContain(`### \`${route.method} ${route.path}\``);
    }
  });

  it('notices a generated part edited by hand, and keeps the hand-written sections', () => {
    const edited = current.replace('### `POST /api/engagement/events`', '### `POST /api/engagement/event`');
    expect(edited).not.toBe(current);
    expect(withGeneratedReference(edited)).toBe(current);
    const handWritten = current.slice(0, current.indexOf(BEGIN_MARKER));
    expect(handWritten).toContain('## Errors');
    expect(current.indexOf(END_MARKER)).toBeGreaterThan(current.indexOf(BEGIN_MARKER));
  });

  it('lists body fields by the paths errors name, with their constraints', () => {
    const reference = renderApiReference();
    expect(reference).toContain(
      '| `events.<n>.campaignId` | yes | string, 1..128 characters, printable text |',
    );
    expect(reference).toContain('| `purposes.analytics` | no | boolean |');
  });
});

describe('the repository owns its docs', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // Files outside the repository that docs and comments once pointed at.
  const OUTSIDE = /DESIGN\.md|[^a-z/]API\.md|\.\.\/shared\//;
  const files = (dir: string): string[] =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const path = join(dir, name);
      return statSync(join(root, path)).isDirectory() ? files(path) : [path];
    });

  it('cites no file outside the repository in code, tests, docs or the README', () => {
    const cited = ['functions', 'lib', 'bin', 'docs', 'test', 'bench']
      .flatMap(files)
      .concat('README.md')
      .filter((path) => /\.(ts|md|json)$/.test(path) && !path.endsWith('results.json'))
      .filter((path) => OUTSIDE.test(readFileSync(join(root, path), 'utf8')));
    expect(cited).toEqual([]);
  });
});
