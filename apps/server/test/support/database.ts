import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { inject } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/rows.js';

export interface TestDatabase extends DatabaseHandle {
  /** The URL another process (a second server instance, the CLI) can open. */
  url: string;
  /** Empties every table: cheaper than a new database per test. */
  reset(): Promise<void>;
}

/**
 * One real database per test file: PGlite in memory, started from the migrated snapshot made
 * once per run (test/support/pglite-snapshot.ts), or a fresh database on the PostgreSQL of
 * DATABASE_URL (created here, dropped on close) when the project says so.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  if (process.env.TEST_DATABASE === 'postgres') return openPostgres();
  const handle = await openDatabase({
    url: 'memory://',
    dataDir: '',
    loadDataDir: migratedSnapshot(),
  });
  return { ...handle, url: 'memory://', reset: () => truncateAll(handle) };
}

function migratedSnapshot(): Blob {
  return new Blob([readFileSync(inject('pgliteSnapshot'))]);
}

/**
 * A new PGlite database with no migrations applied (in memory, or in `dir`), loaded from the
 * run's snapshot: what `new PGlite(dir)` gives, without paying for initdb again.
 */
export async function emptyPGlite(dir?: string): Promise<PGlite> {
  const loadDataDir = new Blob([readFileSync(inject('pgliteEmptySnapshot'))]);
  const client = dir ? new PGlite(dir, { loadDataDir }) : new PGlite({ loadDataDir });
  await client.waitReady;
  return client;
}

/**
 * Puts the migrated snapshot where a process started with this DATA_DIR keeps its embedded
 * database, so that process opens it as it would an existing one, without creating it.
 */
export async function writeMigratedDataDir(dataDir: string): Promise<void> {
  const dir = join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir, { loadDataDir: migratedSnapshot() });
  await client.waitReady;
  await client.close();
}

async function openPostgres(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE=postgres needs DATABASE_URL');
  const name = `scopekit_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), dataDir: '' });
  return {
    ...handle,
    url: url.toString(),
    reset: () => truncateAll(handle),
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

async function truncateAll({ db }: DatabaseHandle) {
  const tables = await publicTables(db);
  if (tables.length === 0) return;
  await db.execute(
    sql.raw(`truncate ${tables.map((t) => `"${t}"`).join(', ')} restart identity cascade`),
  );
}

export async function publicTables(db: DatabaseHandle['db']): Promise<string[]> {
  const result = await db.execute(
    sql`select tablename from pg_tables where schemaname = 'public' order by tablename`,
  );
  return rowsOf<{ tablename: string }>(result).map((r) => r.tablename);
}
