import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchors, codeSpans, headings, linkTargets, section } from './markdown.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');

/** The cloner's guide stays short: the reference lives in docs/. */
const README_MAX_BYTES = 15 * 1024;

const GUIDE_SECTIONS = [
  'Set up',
  'Project map',
  'Your first feature',
  'Change the schema',
  'Add a resource type to the policy',
  'Settings you will actually set',
  'Deploy',
  'Why these dependencies',
];

const REFERENCE_DOCS = [
  'docs/architecture.md',
  'docs/configuration.md',
  'docs/api.md',
  'docs/scaling.md',
  'docs/benchmarks.md',
  'docs/limits-and-faults.md',
];

/**
 * The worked example in "Your first feature", file by file, and the symbol each step names:
 * the README must name both, and the file must still hold the symbol. Renaming one of them
 * fails here until the guide says the same.
 */
const FIRST_FEATURE: readonly { file: string; symbol: string }[] = [
  { file: 'apps/server/src/trpc/trpc.ts', symbol: 'sessionProcedure' },
  { file: 'apps/server/src/trpc/trpc.ts', symbol: 'agentProcedure' },
  { file: 'apps/server/src/tokens/token-issuer.ts', symbol: 'SESSION_ACCESS' },
  { file: 'apps/server/src/trpc/routers/session.ts', symbol: 'renameAgent' },
  { file: 'apps/server/src/agents/agent-write.ts', symbol: 'updateAgent' },
  { file: 'apps/server/src/agents/agent-schemas.ts', symbol: 'agentUpdateSchema' },
  { file: 'apps/web/src/lib/api.ts', symbol: 'sessionApi' },
  { file: 'apps/web/src/pages/Chat.tsx', symbol: 'renameAgent' },
  { file: 'apps/server/test/rename-agent.test.ts', symbol: 'session.renameAgent' },
  { file: 'apps/web/e2e/chat.spec.ts', symbol: 'renames their own agent' },
  { file: 'apps/server/test/bad-input.test.ts', symbol: 'session.renameAgent' },
];

/** Folders whose every subfolder the project map must name, so a new one cannot go unseen. */
const MAPPED_PARENTS = ['apps/server/src', 'apps/web/src'];

/**
 * Paths the docs name that a build or a run creates (`dist/`, `.data/`…): what `.gitignore`
 * lists, as a folder name anywhere (`dist/`) or a path from the root (`apps/web/screenshots/`).
 */
const ignored = read('.gitignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.endsWith('/'))
  .map((line) => line.slice(0, -1));
const isGenerated = (path: string) =>
  ignored.some((entry) =>
    entry.includes('/') ? `${path}/`.startsWith(`${entry}/`) : path.split('/').includes(entry),
  );

/** Every source file under `dir`, skipping installed and built folders. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory())
      return ['node_modules', 'dist', '.data', '.turbo'].includes(entry.name)
        ? []
        : sourceFiles(path);
    return /\.(ts|tsx|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** The settings the code reads: its own prefixed names, and whatever it takes from `process.env`. */
function settingsReadByCode(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sourceFiles('apps'), ...sourceFiles('packages')]) {
    const text = read(file);
    const names = [
      ...text.matchAll(/\b((?:SCOPEKIT|LLM)_[A-Z0-9_]+)\b/g),
      ...text.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g),
    ].map((m) => m[1] ?? '');
    for (const name of names) if (!found.has(name)) found.set(name, file);
  }
  return found;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  const packageReadmes = readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((path) => existsSync(join(root, path)));
  return ['README.md', 'SECURITY.md', ...docs, ...packageReadmes];
}

describe('README.md is a short guide', () => {
  it(`is at most ${README_MAX_BYTES} bytes`, () => {
    expect(
      Buffer.byteLength(readme),
      'README.md: move reference material to docs/',
    ).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it('has the guide sections', () => {
    const titles = headings(readme)
      .filter((h) => h.depth === 2)
      .map((h) => h.text);
    for (const title of GUIDE_SECTIONS) expect(titles, `README.md: "## ${title}"`).toContain(title);
  });

  it('gives the two set-up lines', () => {
    const setUp = section(readme, 'Set up') ?? '';
    expect(setUp).toContain('npm i -g pnpm@10.34.9 && pnpm install && pnpm dev\npnpm test\n');
  });

  it('links every reference document', () => {
    const targets = linkTargets(readme);
    for (const doc of REFERENCE_DOCS)
      expect(targets, `README.md should link ${doc}`).toContain(doc);
  });

  it('maps every folder of the server and the web app', () => {
    const map = section(readme, 'Project map') ?? '';
    for (const parent of MAPPED_PARENTS) {
      for (const name of readdirSync(join(root, parent))) {
        if (!statSync(join(root, parent, name)).isDirectory()) continue;
        expect(map, `README.md "Project map": add a row for \`${parent}/${name}/\``).toContain(
          `\`${parent}/${name}/\``,
        );
      }
    }
  });
});

describe('docs/configuration.md', () => {
  it('documents every setting the code reads', () => {
    const documented = read('docs/configuration.md');
    const missing = [...settingsReadByCode()]
      .filter(([name]) => !documented.includes(`\`${name}\``))
      .map(([name, file]) => `${name} (read in ${file})`);
    expect(missing, 'add each to docs/configuration.md').toEqual([]);
  });
});

describe('"Your first feature" matches the code', () => {
  const guide = section(readme, 'Your first feature') ?? '';
  for (const { file, symbol } of FIRST_FEATURE) {
    it(`${file} holds ${symbol}, and the guide names both`, () => {
      expect(guide, 'README.md "Your first feature"').toContain(`\`${file}\``);
      expect(guide, 'README.md "Your first feature"').toContain(symbol);
      expect(existsSync(join(root, file)), `${file} exists`).toBe(true);
      expect(read(file), file).toContain(symbol);
    });
  }
});

describe.each(markdownFiles())('%s', (path) => {
  const text = read(path);

  it('links only to files and headings inside the repository', () => {
    const broken: string[] = [];
    for (const target of linkTargets(text)) {
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:: not a file of ours
      const [file = '', anchor] = target.split('#');
      const resolved = file
        ? resolve(root, dirname(path), decodeURIComponent(file))
        : join(root, path);
      const inside = relative(root, resolved);
      if (inside.startsWith('..') || inside.startsWith(sep))
        broken.push(`${target}: outside the repository`);
      else if (!existsSync(resolved)) broken.push(`${target}: no such file`);
      else if (anchor && !anchors(readFileSync(resolved, 'utf8')).has(anchor))
        broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing = codeSpans(text)
      .filter((span) => /^(apps|packages|tooling|docs|patches)\/[^\s*…]+$/.test(span))
      .filter((span) => !isGenerated(span) && !existsSync(join(root, span)));
    expect(missing).toEqual([]);
  });
});
