// The database: which one (embedded PGlite or PostgreSQL), where its files live, its pool.
import { join } from 'node:path';
import { z } from 'zod';
import { serverDir } from '../lib/server-dir.js';

export const databaseSettings = z.object({
  /** unset → embedded PGlite under DATA_DIR; `memory://` → PGlite in memory; `postgres://…` → PostgreSQL. */
  DATABASE_URL: z.string().optional(),
  DATA_DIR: z.string().optional(),
  /** Connections in this instance's PostgreSQL pool (one more is opened for LISTEN). */
  SCOPEKIT_DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
});

export interface DatabaseConfig {
  databaseUrl: string | undefined;
  databasePoolSize: number;
  dataDir: string;
}

export function databaseConfig(e: z.infer<typeof databaseSettings>): DatabaseConfig {
  return {
    databaseUrl: e.DATABASE_URL || undefined,
    databasePoolSize: e.SCOPEKIT_DB_POOL_SIZE,
    dataDir: e.DATA_DIR ?? join(serverDir, '.data'),
  };
}
