import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDevAccounts } from '../src/accounts/dev-seed.js';
import { countUsers } from '../src/accounts/users.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps } from './support/fixtures.js';

let database: TestDatabase;
/** On PostgreSQL, a second pool on the same database, as a second instance has. */
let second: DatabaseHandle | undefined;

beforeAll(async () => {
  database = await openTestDatabase();
  if (database.sql) second = await openDatabase({ url: database.url, dataDir: '' });
});
afterAll(async () => {
  await second?.close();
  await database?.close();
});

describe('development accounts seeded by instances starting at once', () => {
  it('are created once, and no instance fails on a username the other took', async () => {
    const accounts = makeDeps(database).accounts;
    const instances = [database, second ?? database].map((handle) => ({
      db: handle.db,
      accounts,
    }));
    const seeded = await Promise.all(
      [0, 1, 2, 3].map((i) => seedDevAccounts(instances[i % 2] as (typeof instances)[0])),
    );
    expect(seeded.filter(Boolean)).toHaveLength(1);
    expect(await countUsers(database)).toBe(3);
  });
});
