import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from './support/database.js';

// postgres.js 3.4.9 reserved a transaction's connection from a hook that ran last in a
// chain of checks, so a connection whose pipeline BEGIN filled sent BEGIN without being
// reserved (porsager/postgres#823, #1189): under load a send failed with UNSAFE_TRANSACTION
// (seen in the conversations bench), or the connection went back to the pool inside the
// transaction. Our patch (patches/postgres@3.4.9.patch) runs the hook whenever BEGIN is sent.
let database: TestDatabase;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await openTestDatabase();
  // A pipeline of zero: every BEGIN fills it, so every transaction met the bug.
  // (`max_pipeline` is missing from the typings.)
  sql = postgres(database.url, { max: 2, ...({ max_pipeline: 0 } as object), onnotice: () => {} });
});
afterAll(async () => {
  await sql.end({ timeout: 5 });
  await database.close();
});

it('reserves the connection of a transaction whose BEGIN fills the pipeline', async () => {
  const results = await Promise.all(
    Array.from({ length: 4 }, (_, i) =>
      sql.begin(async (tx) => {
        const [row] = await tx`select ${i}::int as i, pg_backend_pid() as pid`;
        await tx`select pg_sleep(0.05)`;
        const [again] = await tx`select pg_backend_pid() as pid`;
        return { i: row?.i, same: row?.pid === again?.pid };
      }),
    ),
  );
  expect(results).toEqual([0, 1, 2, 3].map((i) => ({ i, same: true })));
  const [open] = await sql`select count(*)::int as n from pg_stat_activity
    where datname = current_database() and state like 'idle in transaction%'`;
  expect(open?.n).toBe(0);
});
