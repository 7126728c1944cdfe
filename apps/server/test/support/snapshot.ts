import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/rows.js';
import { publicTables } from './database.js';

/**
 * A fingerprint of every row of every table: equal before and after means nothing changed.
 * One statement for all the tables, as the bad-input battery takes one after each of a
 * thousand requests and a round trip per table was most of its time.
 */
export async function databaseFingerprint(db: Database): Promise<string> {
  const tables = await publicTables(db);
  if (tables.length === 0) return '';
  const perTable = tables.map(
    (name) =>
      `select '${name}' as tablename, count(*)::int as n, ` +
      `md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from "${name}" t`,
  );
  const rows = rowsOf<{ tablename: string; n: number; digest: string }>(
    await db.execute(
      sql.raw(`select * from (${perTable.join(' union all ')}) f order by tablename`),
    ),
  );
  return rows.map((row) => `${row.tablename}:${row.n}:${row.digest}`).join('\n');
}
