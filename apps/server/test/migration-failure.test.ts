import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { emptyPGlite } from './support/database.js';

// A table in the way of the first migration makes migrating fail, as a broken or half-applied
// migration would. Each project fails its own database.
const CONFLICT = 'create table organizations (unexpected integer)';

describe('a migration that fails at start', () => {
  it('leaves nothing open or locked behind the error', async () => {
    if (process.env.TEST_DATABASE === 'postgres') await failOnPostgres();
    else await failOnPGlite();
  });
});

/** The embedded database is closed again, and its folder free for the next process. */
async function failOnPGlite() {
  const dataDir = mkdtempSync(join(tmpdir(), 'scopekit-migrate-'));
  try {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir);
    const seed = await emptyPGlite(dir);
    await seed.exec(CONFLICT);
    await seed.close();
    await expect(openDatabase({ url: undefined, dataDir })).rejects.toThrow();
    expect(existsSync(join(dir, 'owner.lock'))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every connection opened is closed, and the migration lock is not held by anyone. */
async function failOnPostgres() {
  const adminUrl = process.env.DATABASE_URL ?? '';
  const name = `scopekit_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const seed = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await seed.unsafe(CONFLICT);
    await seed.end();
    await expect(openDatabase({ url: url.toString(), dataDir: '' })).rejects.toThrow();
    // A backend leaves pg_stat_activity just after its client hangs up: wait for that.
    for (;;) {
      const [row] = await admin<{ open: number }[]>`
            select count(*)::int as open from pg_stat_activity where datname = ${name}`;
      if (row?.open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const locks = await admin`
          select 1 from pg_locks l join pg_database d on d.oid = l.database
          where l.locktype = 'advisory' and d.datname = ${name}`;
    expect(locks).toHaveLength(0);
  } finally {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}
