import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { TestProject } from 'vitest/node';
import { migrationsFolder } from '../../src/db/client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated PGlite data directory (uncompressed tarball) that each test file starts from. */
    pgliteSnapshot: string;
    /** The same database before its migrations, for the tests that migrate one themselves. */
    pgliteEmptySnapshot: string;
  }
}

/**
 * Vitest global setup for the PGlite project: creating a PGlite database (initdb) and
 * migrating it is most of what a file's database costs, so it is done once per run and every
 * file loads the result. The migrations still run on load, finding nothing to do. The tests
 * that run migrations themselves start from the same database before them (`emptyPGlite`).
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'scopekit-pglite-'));
  const client = new PGlite();
  const save = async (name: string) => {
    const file = join(dir, name);
    writeFileSync(file, new Uint8Array(await (await client.dumpDataDir('none')).arrayBuffer()));
    return file;
  };
  try {
    // Dumped before the database is ready, the tarball never comes (and Vitest exits).
    await client.waitReady;
    project.provide('pgliteEmptySnapshot', await save('empty.tar'));
    await migrate(drizzle({ client }), { migrationsFolder });
    project.provide('pgliteSnapshot', await save('migrated.tar'));
  } finally {
    await client.close();
  }
  return () => rmSync(dir, { recursive: true, force: true });
}
