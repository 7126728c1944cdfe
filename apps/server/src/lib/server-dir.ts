import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The server package's own folder (`apps/server`), wherever this module runs from: `src/`
 * through tsx in development and tests, `dist/src/` once built for production. The folders
 * found from it (migrations, the data directory, the web app's build) do not depend on how
 * deep the running file sits.
 */
export const serverDir = findServerDir(dirname(fileURLToPath(import.meta.url)));

function findServerDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}
