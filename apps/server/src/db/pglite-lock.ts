import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Embedded PGlite is a single-process database: a second process opening the same folder
 * would corrupt it. A pid file turns that into a clear error (say, the CLI while `pnpm dev`
 * runs) instead of damage.
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, 'owner.pid');
  const owner = readOwner(file);
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `The embedded database in ${dir} is in use by process ${owner} (a running server?). ` +
        'Stop it first, or set DATABASE_URL to a PostgreSQL database that several processes can share.',
    );
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
