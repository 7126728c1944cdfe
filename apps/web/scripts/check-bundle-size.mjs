// The web app's JavaScript budget: at most 50 KB gzipped over every .js file the build
// emits, and no server code in it. The server package is imported for its types only; what
// actually went into the bundle is read from the build's sourcemaps (minified code keeps no
// package names), and every source file must come from the web app, the shared policy
// package or a browser-side dependency.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 50 * 1024;
/** Packages only the server has any use for; one file of theirs in the bundle is a mistake. */
const SERVER_PACKAGES = [
  'fastify',
  '@fastify/',
  'pino',
  'drizzle-orm',
  'postgres',
  '@electric-sql/pglite',
  'openai',
  'async-mutex',
  'lru-cache',
  'tsx',
];

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const dist = here('../dist');
const serverDir = realpathSync(here('../../server')) + sep;

/**
 * @trpc/client ships part of @trpc/server (observables, error shapes, stream parsing) as the
 * shared core of both. Those files are the ones reachable from what @trpc/client imports;
 * any other @trpc/server file (its adapters, its HTTP handler) is server code.
 */
function sharedTrpcCore() {
  const requireFromWeb = createRequire(here('../package.json'));
  const clientDist = dirname(realpathSync(requireFromWeb.resolve('@trpc/client')));
  // The @trpc/server next to this @trpc/client, and the ES module each subpath exports.
  const serverRoot = join(clientDist, '../../server');
  const { exports } = JSON.parse(readFileSync(join(serverRoot, 'package.json'), 'utf8'));
  const allowed = new Set();
  const queue = [];
  for (const file of readdirSync(clientDist).filter((f) => f.endsWith('.mjs'))) {
    const text = readFileSync(join(clientDist, file), 'utf8');
    for (const [, subpath] of text.matchAll(/from\s*"@trpc\/server(\/[^"]*)?"/g)) {
      queue.push(realpathSync(join(serverRoot, exports[`.${subpath ?? ''}`].import.default)));
    }
  }
  while (queue.length > 0) {
    const file = queue.pop();
    if (allowed.has(file)) continue;
    allowed.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*"(\.[^"]+)"/g)) {
      queue.push(realpathSync(resolve(dirname(file), specifier)));
    }
  }
  return allowed;
}

/** Why `source` (an absolute path) must not be in the browser's bundle, if it must not. */
function serverOrigin(source, trpcCore) {
  if (source.startsWith(serverDir) && !source.includes(`${sep}node_modules${sep}`))
    return 'the server package';
  const match = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(
    source.slice(source.lastIndexOf(`${sep}node_modules${sep}`)),
  );
  const name = match?.[1].replaceAll('\\', '/');
  if (!name) return undefined;
  if (name === '@trpc/server')
    return trpcCore.has(source) ? undefined : '@trpc/server outside the shared client core';
  const banned = SERVER_PACKAGES.find((p) => (p.endsWith('/') ? name.startsWith(p) : name === p));
  return banned ? `the server-only package ${name}` : undefined;
}

const files = existsSync(dist)
  ? readdirSync(dist, { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.js'))
      .map((file) => join(dist, file))
  : [];
if (files.length === 0) {
  console.error(`No JavaScript under ${dist}: run the build first.`);
  process.exit(1);
}

const trpcCore = sharedTrpcCore();
let total = 0;
const problems = [];
for (const file of files) {
  const gzipped = gzipSync(readFileSync(file), { level: 9 }).length;
  total += gzipped;
  const name = relative(dist, file);
  console.log(`${name}: ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  if (!existsSync(`${file}.map`)) {
    problems.push(`${name} has no sourcemap to check its sources against`);
    continue;
  }
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
  for (const entry of map.sources) {
    const path = resolve(dirname(file), map.sourceRoot ?? '', entry);
    const source = existsSync(path) ? realpathSync(path) : path;
    const origin = serverOrigin(source, trpcCore);
    if (origin) problems.push(`${name} contains ${relative(process.cwd(), source)} (${origin})`);
  }
}
console.log(`total: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
if (total > BUDGET_BYTES)
  problems.push(`over budget by ${((total - BUDGET_BYTES) / 1024).toFixed(1)} KB`);
if (problems.length > 0) {
  console.error(`Bundle check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
