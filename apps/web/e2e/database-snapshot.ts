import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../server/src/db/client.ts';

/**
 * Creating a PGlite database (initdb) and migrating it took 20 s of a server's start on a
 * loaded machine, and the browser tests start five server or CLI processes. So it is done
 * once per run, here (with the server's own code), and every process the tests start gets a
 * copy of the result under its DATA_DIR, which it opens as an existing embedded database.
 */
const ROOT_ENV = 'SCOPEKIT_E2E_DATA_ROOT';

const snapshotOf = (root: string) => join(root, 'snapshot', 'pglite');

/**
 * Creates the migrated database once, in the runner's global setup. Workers are separate
 * processes and find it through their environment. Returns the way to remove it and every
 * copy.
 */
export async function createSnapshot(): Promise<() => void> {
  const root = mkdtempSync(join(tmpdir(), 'scopekit-e2e-'));
  const handle = await openDatabase({ url: undefined, dataDir: join(root, 'snapshot') });
  await handle.close();
  process.env[ROOT_ENV] = root;
  return () => rmSync(root, { recursive: true, force: true });
}

/** A new DATA_DIR holding a copy of the migrated, still empty database. */
export function dataDirFromSnapshot(): string {
  const root = process.env[ROOT_ENV];
  if (!root || !existsSync(snapshotOf(root))) {
    throw new Error(`${ROOT_ENV} is not set: the browser tests' global setup creates it`);
  }
  const dataDir = mkdtempSync(join(root, 'data-'));
  mkdirSync(dataDir, { recursive: true });
  cpSync(snapshotOf(root), join(dataDir, 'pglite'), { recursive: true });
  return dataDir;
}
