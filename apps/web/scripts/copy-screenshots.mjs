// The docs show three of the pages the browser tests photograph (into apps/web/screenshots/,
// on every run). This copies those three to docs/screenshots/, where the docs find them:
// run the browser tests, then this, and commit the images. The admin page is taken from
// `pnpm dev` instead (admin-screenshot.mjs): its tokens show the origin, and the tests' port.
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SHOWN = ['login', 'chat', 'chat-phone'];

const from = fileURLToPath(new URL('../screenshots/', import.meta.url));
const to = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const missing = SHOWN.filter((name) => !existsSync(`${from}${name}.png`));
if (missing.length > 0) {
  console.error(
    `No ${missing.map((name) => `${name}.png`).join(', ')} in ${from}: run the browser tests first (pnpm --filter @scopekit/web test).`,
  );
  process.exit(1);
}
for (const name of SHOWN) {
  copyFileSync(`${from}${name}.png`, `${to}${name}.png`);
  const taken = statSync(`${from}${name}.png`).mtime.toISOString();
  console.log(`docs/screenshots/${name}.png (taken ${taken})`);
}
