import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.js';
import { authenticateUser, countUsers, type Role, signUp } from './users.js';

/**
 * Accounts `pnpm dev` creates on an empty database, so there is someone to log in as. Their
 * passwords are public (they are right here), which is why a production start refuses to run
 * while any of them still works.
 */
export const DEV_ACCOUNTS: readonly { username: string; password: string; role: Role }[] = [
  { username: 'admin', password: 'admin-dev-password', role: 'admin' },
  { username: 'alice', password: 'alice-dev-password', role: 'user' },
  { username: 'bob', password: 'bob-dev-password', role: 'user' },
];

/** Held by the seeding transaction: instances seeding one database take turns. */
const SEED_LOCK_ID = 0x5eed;

/**
 * Creates the development accounts when there are no users at all; false when it did nothing.
 * Two instances started at once on an empty database both found no users and both signed up
 * `admin`, and the second crashed on "username taken". Counting and creating in one
 * transaction under an advisory lock makes the later one wait, then find the users.
 */
export async function seedDevAccounts(
  deps: Pick<ServiceDeps, 'db' | 'accounts'>,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK_ID})`);
    const inTransaction = { db: tx, accounts: deps.accounts };
    if ((await countUsers(inTransaction)) > 0) return false;
    for (const account of DEV_ACCOUNTS) await signUp(inTransaction, account);
    return true;
  });
}

/** The development accounts whose published password still logs in. */
export async function accountsWithDevPasswords(deps: ServiceDeps): Promise<string[]> {
  const working: string[] = [];
  for (const { username, password } of DEV_ACCOUNTS) {
    const ok = await authenticateUser(deps, { username, password }).then(
      () => true,
      () => false,
    );
    if (ok) working.push(username);
  }
  return working;
}

export function describeDevAccounts(webOrigin: string): string {
  const rows = DEV_ACCOUNTS.map(
    (a) =>
      `  ${a.username.padEnd(6)} ${a.password.padEnd(20)} ${a.role === 'admin' ? '(admin)' : ''}`,
  );
  return [
    'Seeded development accounts (this database had no users):',
    ...rows,
    `Open ${webOrigin} and log in as one of them.`,
    'These passwords are public: a production start refuses to run while any of them works.',
  ].join('\n');
}
