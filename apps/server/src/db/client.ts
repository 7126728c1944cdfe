import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { serverDir } from '../lib/server-dir.js';
import { StartRefusal } from '../start-refusal.js';
import { DatabaseWatch, trackedSockets } from './database-watch.js';
import { lockDataDir } from './pglite-lock.js';
import { preparingClient } from './prepared-statements.js';
import * as schema from './schema.js';

/** Typed by the schema, not by the driver, so services never care which one is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DatabaseKind = 'pglite-disk' | 'pglite-memory' | 'postgres';

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseKind;
  /** The postgres.js client when on PostgreSQL: LISTEN/NOTIFY needs it directly. */
  sql: postgres.Sql | undefined;
  /** On PostgreSQL: finds a frozen database and cuts the pool's connections to it. */
  watch?: DatabaseWatch | undefined;
  close(): Promise<void>;
}

export const migrationsFolder = join(serverDir, 'drizzle');

/** Held while migrating so that several instances starting at once migrate one at a time. */
const MIGRATION_LOCK_ID = 0x5c09e;

export interface OpenDatabaseOptions {
  /** As DATABASE_URL: unset → PGlite under dataDir, `memory://` → PGlite in memory, `postgres://` → PostgreSQL. */
  url: string | undefined;
  dataDir: string;
  poolSize?: number;
  /**
   * PGlite in memory only: start from this data directory (a `dumpDataDir` tarball) rather
   * than an empty one. The test suite migrates once per run and starts every file from that.
   */
  loadDataDir?: Blob;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const { url, dataDir } = options;
  if (url?.startsWith('postgres://') || url?.startsWith('postgresql://')) {
    await migrateUnderLock(url);
    const sockets = trackedSockets();
    const sql = postgres(url, {
      max: options.poolSize ?? 10,
      // Missing from the typings; a socket per connection that the watch below can cut.
      ...({ socket: sockets.open } as object),
      // Fail fast while PostgreSQL is down (the request gets a 503) instead of queueing for 30 s.
      connect_timeout: 3,
      // postgres.js waits up to 20 s before reconnecting after repeated failures, so a short
      // outage left queries queued for that long once the database was back. Cap it at 1 s.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
      onnotice: () => {},
      connection: { application_name: 'scopekit' },
    });
    const db = drizzlePostgres({ client: preparingClient(sql), schema }) as unknown as Database;
    const watch = new DatabaseWatch(url, sockets.cutAll);
    return {
      db,
      kind: 'postgres',
      sql,
      watch,
      close: async () => {
        await watch.close();
        await sql.end({ timeout: 5 });
      },
    };
  }
  if (url !== undefined && url !== 'memory://') {
    throw new StartRefusal(
      `DATABASE_URL must be unset, "memory://" or a postgres:// URL (got a ${url.split(':')[0]}: URL)`,
    );
  }
  const inMemory = url === 'memory://';
  let client: PGlite;
  let unlock = () => {};
  if (inMemory) {
    client = new PGlite({ loadDataDir: options.loadDataDir });
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    unlock = lockDataDir(dir);
    client = new PGlite(dir);
  }
  const pglite = drizzlePglite({ client, schema });
  try {
    await migratePglite(pglite, { migrationsFolder });
  } catch (error) {
    await client.close();
    unlock();
    throw error;
  }
  return {
    db: pglite as unknown as Database,
    kind: inMemory ? 'pglite-memory' : 'pglite-disk',
    sql: undefined,
    close: async () => {
      await client.close();
      unlock();
    },
  };
}

/**
 * Migrates while holding the advisory lock on one reserved connection, and always unlocks
 * before that connection goes back to the pool: a failed migration must not leave the lock
 * with a pooled connection, where every other instance would wait on it. The migration has
 * two connections of its own (one holds the lock, the other migrates), closed once it is
 * done, so a pool of any size (SCOPEKIT_DB_POOL_SIZE=1 included) can start.
 */
async function migrateUnderLock(url: string): Promise<void> {
  const sql = postgres(url, {
    max: 2,
    connect_timeout: 3,
    onnotice: () => {},
    connection: { application_name: 'scopekit migrations' },
  });
  try {
    const lock = await sql.reserve();
    try {
      await lock`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
      try {
        await migratePostgres(drizzlePostgres({ client: sql, schema }), { migrationsFolder });
      } finally {
        await lock`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
      }
    } finally {
      lock.release();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
