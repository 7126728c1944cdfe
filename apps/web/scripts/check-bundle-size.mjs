// The web app's JavaScript budget: at most 50 KB gzipped over every .js file the build
// emits, and no server code in it (the server package is imported for its types only).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 50 * 1024;
const SERVER_MARKERS = ['drizzle-orm', 'fastify', '@electric-sql/pglite', 'node:crypto'];

const dist = fileURLToPath(new URL('../dist', import.meta.url));
const files = readdirSync(dist, { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.js'))
  .map((file) => join(dist, file));
if (files.length === 0) {
  console.error(`No JavaScript under ${dist}: run the build first.`);
  process.exit(1);
}

let total = 0;
const problems = [];
for (const file of files) {
  const source = readFileSync(file);
  const gzipped = gzipSync(source, { level: 9 }).length;
  total += gzipped;
  console.log(`${relative(dist, file)}: ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  const text = source.toString();
  for (const marker of SERVER_MARKERS) {
    if (text.includes(marker)) problems.push(`${relative(dist, file)} contains "${marker}"`);
  }
}
console.log(`total: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
if (total > BUDGET_BYTES)
  problems.push(`over budget by ${((total - BUDGET_BYTES) / 1024).toFixed(1)} KB`);
if (problems.length > 0) {
  console.error(`Bundle check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
