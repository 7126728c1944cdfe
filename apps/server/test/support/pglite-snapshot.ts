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
  }
}

/**
 * Vitest global setup for the PGlite project: creating a PGlite database (initdb) and
 * migrating it is most of what a file's database costs, so it is done once per run and every
 * file loads the result. The migrations still run on load, finding nothing to do.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'scopekit-pglite-'));
  const client = new PGlite();
  try {
    await migrate(drizzle({ client }), { migrationsFolder });
    const tarball = await client.dumpDataDir('none');
    const file = join(dir, 'migrated.tar');
    writeFileSync(file, new Uint8Array(await tarball.arrayBuffer()));
    project.provide('pgliteSnapshot', file);
  } finally {
    await client.close();
  }
  return () => rmSync(dir, { recursive: true, force: true });
}
