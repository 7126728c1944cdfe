import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rowsOf } from '../src/db/rows.js';
import { useSuite } from './support/suite.js';

const s = useSuite();

// postgres.js 3.4.9 flushes small writes from a setImmediate; when a transaction's connection
// dies mid-statement, the ROLLBACK it then sends was flushed onto the closed socket and threw
// outside every promise, taking the whole server down (porsager/postgres#1154, #1208). Our
// patch (patches/postgres@3.4.9.patch) settles that write with CONNECTION_CLOSED instead.
const uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);
beforeEach(() => {
  uncaught.length = 0;
  process.on('uncaughtException', record);
});
afterEach(() => {
  process.off('uncaughtException', record);
});

it('survives a transaction whose connection dies mid-statement, and the pool carries on', async () => {
  const killer = postgres(s.database.url, { max: 1, onnotice: () => {} });
  try {
    let pid: number | undefined;
    const transaction = s.database.db.transaction(async (tx) => {
      const [row] = rowsOf<{ pid: number }>(await tx.execute(sql`select pg_backend_pid() as pid`));
      pid = row?.pid;
      await tx.execute(sql`select pg_sleep(5)`);
    });
    const outcome = transaction.then(
      () => 'committed',
      (error: { code?: string }) => error.code,
    );
    while (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    await killer`select pg_terminate_backend(${pid})`;
    expect(await outcome).toBe('CONNECTION_CLOSED');

    // The ROLLBACK's write lands a tick later; give it the ticks it needs to throw, if it would.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught).toEqual([]);
    const [after] = rowsOf<{ one: number }>(await s.database.db.execute(sql`select 1 as one`));
    expect(after?.one).toBe(1);
  } finally {
    await killer.end();
  }
});
