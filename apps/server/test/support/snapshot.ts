import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/rows.js';
import { publicTables } from './database.js';

/** A fingerprint of every row of every table: equal before and after means nothing changed. */
export async function databaseFingerprint(db: Database): Promise<string> {
  const parts: string[] = [];
  for (const tablename of await publicTables(db)) {
    const [row] = rowsOf<{ digest: string | null; n: number }>(
      await db.execute(
        sql.raw(
          `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest, count(*)::int as n from "${tablename}" t`,
        ),
      ),
    );
    parts.push(`${tablename}:${row?.n}:${row?.digest}`);
  }
  return parts.join('\n');
}
