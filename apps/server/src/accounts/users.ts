import { asc, count, eq } from 'drizzle-orm';
import { createAgent } from '../agents/agent-write.js';
import { hashForUnknownUser, hashPassword, verifyPassword } from '../crypto/password.js';
import { users } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, badRequest, notFound, unauthorized } from '../errors.js';
import { createLettaAgent, deleteLettaAgent } from '../letta-host/letta-agents.js';
import type { LettaHost } from '../letta-host/letta-host.js';
import { newId } from '../lib/ids.js';
import { ensureOrganization } from './organizations.js';
import { endSessionsOf } from './sessions.js';

export type Role = 'user' | 'admin';

export interface UserView {
  id: string;
  username: string;
  role: Role;
  organizationId: string;
  /** The user's own agent, created with the account. */
  agentId: string;
  createdAt: string;
}

const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
export const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_LENGTH = 200;

/** Usernames compare case-insensitively: "Alice" and "alice" are one person. */
export function normalizeUsername(input: string): string {
  const username = input.trim().toLowerCase();
  if (!USERNAME.test(username)) {
    throw badRequest(
      'must be 3 to 32 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
      'username',
    );
  }
  return username;
}

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw badRequest(
      `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      'password',
    );
  }
}

/** Sign-up input as it will be stored (the username normalised), or a 400 naming the field. */
export function parseSignUp(args: { username: string; password: string }): {
  username: string;
  password: string;
} {
  const username = normalizeUsername(args.username);
  checkPassword(args.password);
  return { username, password: args.password };
}

/**
 * Creates an account in the app's organization, with its own agent. A taken username is a
 * 409. The user and the agent are written in one transaction, so a failed insert (the losing
 * side of a race included) leaves no agent behind.
 */
export async function signUp(
  deps: Pick<ServiceDeps, 'db' | 'accounts' | 'lettaHost'>,
  args: { username: string; password: string; role?: Role },
): Promise<UserView> {
  const { username, password } = parseSignUp(args);
  const { db } = deps;
  const taken = await db.select({ id: users.id }).from(users).where(eq(users.username, username));
  if (taken.length > 0) throw usernameTaken(username);
  const org = await ensureOrganization(deps, deps.accounts.organizationName);
  const passwordHash = await hashPassword(password, deps.accounts.passwordCost);
  const user = { organizationId: org.id, username, passwordHash, role: args.role ?? 'user' };
  if (deps.lettaHost) return toUserView(await signUpOnLetta(deps.lettaHost, db, user));
  const row = await db.transaction(async (tx) => {
    const agent = await createAgent(
      { db: tx },
      { organizationId: org.id, name: `${username}'s agent` },
    );
    const [inserted] = await tx
      .insert(users)
      .values({ id: newId('user'), ...user, agentId: agent.id })
      .onConflictDoNothing({ target: users.username })
      .returning();
    // Throwing rolls the agent back with the transaction.
    if (!inserted) throw usernameTaken(username);
    return inserted;
  });
  return toUserView(row);
}

/**
 * Under SCOPEKIT_AGENT_HOST=letta the agent is created on Letta first (a network call, so
 * outside any transaction), then the account; if the account cannot be written, the agent
 * is deleted again.
 */
async function signUpOnLetta(
  host: LettaHost,
  db: ServiceDeps['db'],
  user: { organizationId: string; username: string; passwordHash: string; role: Role },
) {
  const id = newId('user');
  const lettaAgentId = await createLettaAgent(host, { userId: id, username: user.username });
  const [inserted] = await db
    .insert(users)
    .values({ id, ...user, lettaAgentId })
    .onConflictDoNothing({ target: users.username })
    .returning()
    .catch(async (error: unknown) => {
      await deleteLettaAgent(host, lettaAgentId);
      throw error;
    });
  if (inserted) return inserted;
  await deleteLettaAgent(host, lettaAgentId);
  throw usernameTaken(user.username);
}

const usernameTaken = (username: string) =>
  new AppError('CONFLICT', `The username "${username}" is taken`, 'username');

/** One message for an unknown user and a wrong password, so neither reveals which it was. */
const WRONG_CREDENTIALS = 'Wrong username or password';

export async function authenticateUser(
  { db, accounts }: Pick<ServiceDeps, 'db' | 'accounts'>,
  args: { username: string; password: string },
): Promise<UserView> {
  const username = args.username.trim().toLowerCase();
  const [row] = await db.select().from(users).where(eq(users.username, username));
  const matches = await verifyPassword(
    args.password,
    row?.passwordHash ?? (await hashForUnknownUser(accounts.passwordCost)),
  );
  if (!row || !matches) throw unauthorized(WRONG_CREDENTIALS);
  return toUserView(row);
}

export async function getUser(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { userId: string },
): Promise<UserView> {
  const [row] = await db.select().from(users).where(eq(users.id, args.userId));
  if (!row) throw notFound(`User ${args.userId} not found`);
  return toUserView(row);
}

/**
 * A new password ends every session of the user and revokes the tokens they minted, in the
 * same transaction: a session opened with the old password (a leaked one, or a development
 * seed's public one) must not outlive it.
 */
export async function setPassword(
  deps: Pick<
    ServiceDeps,
    'db' | 'now' | 'tokenCache' | 'bus' | 'accounts' | 'secrets' | 'lettaHost'
  >,
  args: { username: string; password: string },
): Promise<UserView> {
  const username = normalizeUsername(args.username);
  checkPassword(args.password);
  const passwordHash = await hashPassword(args.password, deps.accounts.passwordCost);
  const [found] = await deps.db.select().from(users).where(eq(users.username, username));
  if (!found) throw notFound(`No user "${username}"`);
  let updated = found;
  await endSessionsOf(deps, { userId: found.id }, async (db) => {
    const [row] = await db
      .update(users)
      .set({ passwordHash })
      .where(eq(users.id, found.id))
      .returning();
    if (row) updated = row;
  });
  return toUserView(updated);
}

/** The organization's users by name, for the admin's agent filter (the first thousand). */
export async function listUsers(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string },
): Promise<UserView[]> {
  const rows = await db
    .select()
    .from(users)
    .where(eq(users.organizationId, args.organizationId))
    .orderBy(asc(users.username))
    .limit(1000);
  return rows.map(toUserView);
}

export async function countUsers({ db }: Pick<ServiceDeps, 'db'>): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export function toUserView(row: typeof users.$inferSelect): UserView {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    organizationId: row.organizationId,
    // Exactly one is set (the users_one_agent check).
    agentId: row.agentId ?? row.lettaAgentId ?? '',
    createdAt: row.createdAt.toISOString(),
  };
}
