import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { organizations } from '../src/db/schema.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';

// PostgreSQL only: drizzle's queries reach PostgreSQL as prepared statements, each parsed
// and planned once per connection (drizzle's postgres.js driver alone sends them unprepared).
let database: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  database = await openTestDatabase();
  // One connection, so the statements prepared are the ones the next query can see.
  handle = await openDatabase({ url: database.url, dataDir: '', poolSize: 1 });
});
afterAll(async () => {
  await handle.close();
  await database.close();
});

/** The connection's prepared statements (a query without parameters is never prepared). */
async function prepared(db: Pick<DatabaseHandle['db'], 'execute'>): Promise<string[]> {
  const rows = await db.execute(sql`select statement from pg_prepared_statements`);
  return (rows as unknown as { statement: string }[]).map((row) => row.statement);
}

it('prepares a query once and reuses it, outside and inside transactions', async () => {
  const byName = (name: string) =>
    handle.db.select().from(organizations).where(eq(organizations.name, name));
  await byName('acme');
  await byName('initech');
  const statements = await prepared(handle.db);
  const selects = statements.filter((s) => s.startsWith('select') && s.includes('"organizations"'));
  expect(selects).toHaveLength(1);

  const inTransaction = await handle.db.transaction(async (tx) => {
    await tx.execute(sql`select ${'inside a transaction'}::text as said`);
    const nested = await tx.transaction(async (inner) => {
      await inner.execute(sql`select ${'inside a savepoint'}::text as nested`);
      return prepared(inner);
    });
    return { outer: await prepared(tx), nested };
  });
  expect(inTransaction.outer).toContain('select $1::text as said');
  expect(inTransaction.nested).toContain('select $1::text as nested');
});

it('still answers a query a migration changed under its prepared statement', async () => {
  await handle.db.execute(sql`create table prepared_probe (id text primary key)`);
  await handle.db.execute(sql`insert into prepared_probe values (${'a'})`);
  const read = () => handle.db.execute(sql`select * from prepared_probe where id = ${'a'}`);
  expect(await read()).toEqual([{ id: 'a' }]);
  // The cached plan's result type changes: postgres.js prepares the statement again.
  await handle.db.execute(sql`alter table prepared_probe add column note text default 'n'`);
  expect(await read()).toEqual([{ id: 'a', note: 'n' }]);
});
