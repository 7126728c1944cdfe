import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;
const SKIPPED = new Set(['node_modules', 'dist', 'test-results', 'playwright-report']);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/**
 * What the code reads from the environment: every name read from `process.env` in the
 * workspace's source, tests, configs and scripts, and every key of the server's
 * configuration schema, whose parts are in apps/server/src/config/ (`loadConfig` reads them
 * from the environment it is given).
 */
function settingsRead(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of ['apps', 'packages', 'tooling'].flatMap(sourceFiles)) {
    for (const match of read(file).matchAll(/process\.env(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g))
      if (match[1] && !found.has(match[1])) found.set(match[1], file);
  }
  for (const file of sourceFiles('apps/server/src/config')) {
    for (const match of read(file).matchAll(/^ {2}([A-Z][A-Z0-9_]*): z\b/gm))
      if (match[1] && !found.has(match[1])) found.set(match[1], file);
  }
  return found;
}

it('documents every setting the code reads in docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const settings = settingsRead();
  expect(settings.size).toBeGreaterThan(40);
  const undocumented = [...settings]
    .filter(([name]) => !doc.includes(`\`${name}\``))
    .map(([name, file]) => `${name} (read in ${file})`);
  expect(
    undocumented,
    'docs/configuration.md: give each setting below a row in the table, or a line in its section',
  ).toEqual([]);
});

it('lists in its table only settings the code reads', () => {
  const settings = settingsRead();
  const listed = read('docs/configuration.md')
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)])
    .map((match) => match[1] ?? '');
  expect(listed.length).toBeGreaterThan(30);
  expect(
    listed.filter((name) => !settings.has(name)),
    'docs/configuration.md lists settings nothing reads: remove them',
  ).toEqual([]);
});
