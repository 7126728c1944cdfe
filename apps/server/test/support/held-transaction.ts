import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/rows.js';
import type { TestDatabase } from './database.js';

export interface HeldTransaction<T> {
  /** What `work` returned, before anything was committed. */
  result: T;
  commit(): Promise<void>;
}

/**
 * Runs `work` in a transaction and keeps it open, holding its locks, until `commit()`: a
 * test can run something else in the middle of it, deterministically.
 */
export async function holdTransaction<T>(
  db: Database,
  work: (tx: Database) => Promise<T>,
): Promise<HeldTransaction<T>> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let worked = (_result: T) => {};
  const ready = new Promise<T>((resolve) => {
    worked = resolve;
  });
  const done = db.transaction(async (tx) => {
    worked(await work(tx));
    await released;
  });
  // `done` settles first only if `work` threw: its error is the caller's.
  const result = await Promise.race([ready, done.then(() => ready)]);
  return {
    result,
    commit: async () => {
      release();
      await done;
    },
  };
}

/**
 * Resolves once a statement on the test's PostgreSQL database waits for a row lock, or once
 * `pending` settles without having had to. PGlite runs one statement at a time on its one
 * connection, so there a statement issued during a held transaction simply runs after it.
 */
export async function untilWaitingForLock(
  database: TestDatabase,
  pending: Promise<unknown>,
): Promise<void> {
  if (!database.sql) return;
  let settled = false;
  pending.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    const [row] = rowsOf<{ waiting: number }>(
      await database.db.execute(sql`
        select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`),
    );
    if ((row?.waiting ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise's outcome as a value, so a test can hold it without an unhandled rejection. */
export const outcomeOf = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
