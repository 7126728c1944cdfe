import { type Policy, redactToken } from '@scopekit/policy';
import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { ActiveSession } from '../accounts/sessions.js';
import { hashToken } from '../crypto/hash.js';
import { lettaTokens, sessions } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound, sessionEnded } from '../errors.js';
import { newId } from '../lib/ids.js';
import type { ClientTokenSummary } from '../tokens/client-tokens.js';
import { SESSION_ACCESS } from '../tokens/token-issuer.js';
import type { LettaHost } from './letta-host.js';

type Deps = Pick<ServiceDeps, 'db' | 'now' | 'secrets' | 'accounts'>;

/**
 * The browser's token, minted at Letta for the user's agent there, bound to the web origin
 * and living as long as a scopekit-hosted one (SCOPEKIT_WEB_TOKEN_TTL_SECONDS). The same
 * access a session grants on scopekit's own host: the person's own messages and agent,
 * read, and messages sent; changing the agent itself stays with this server.
 */
export async function mintLettaSessionToken(
  deps: Deps,
  host: LettaHost,
  args: { session: ActiveSession; hostname: string },
): Promise<{ token: string; expiresIn: number; agentId: string }> {
  const { user, sessionIdHash } = args.session;
  const policy: Policy = {
    version: '1',
    data: [{ type: 'agent', id: user.agentId, access: [...SESSION_ACCESS] }],
  };
  const requestedExpiry = new Date(deps.now().getTime() + deps.accounts.webTokenTtlMs);
  const minted = await host.call('mint a token for the agent', (client) =>
    client.accessTokens.create({
      hostname: args.hostname,
      policy: policy.data,
      expires_at: requestedExpiry.toISOString(),
    }),
  );
  const expiresAt = new Date(minted.expiresAt);
  const id = newId('tok');
  // Recorded only while the session lives: a log-out that ended it meanwhile has already
  // revoked what it found, and would never find this one.
  const recorded = await deps.db
    .insert(lettaTokens)
    .select(
      deps.db
        .select({
          id: sql`${id}`.as('id'),
          organizationId: sql`${user.organizationId}`.as('organization_id'),
          userId: sql`${user.id}`.as('user_id'),
          sessionIdHash: sql`${sessionIdHash}`.as('session_id_hash'),
          agentId: sql`${user.agentId}`.as('agent_id'),
          tokenHash: sql`${hashToken(minted.token)}`.as('token_hash'),
          tokenCiphertext: sql`${deps.secrets.seal(minted.token, id)}`.as('token_ciphertext'),
          hint: sql`${redactToken(minted.token)}`.as('hint'),
          hostname: sql`${args.hostname}`.as('hostname'),
          policy: sql`${JSON.stringify(policy)}::jsonb`.as('policy'),
          createdAt: sql`${deps.now().toISOString()}::timestamptz`.as('created_at'),
          expiresAt: sql`${expiresAt.toISOString()}::timestamptz`.as('expires_at'),
          revokedAt: sql`null::timestamptz`.as('revoked_at'),
        })
        .from(sessions)
        .where(eq(sessions.idHash, sessionIdHash)),
    )
    .returning({ id: lettaTokens.id });
  if (recorded.length === 0) {
    await deleteAtLetta(host, minted.token).catch(() => {});
    throw sessionEnded();
  }
  const expiresIn = Math.max(0, Math.floor((expiresAt.getTime() - deps.now().getTime()) / 1000));
  return { token: minted.token, expiresIn, agentId: user.agentId };
}

/** Letta's DELETE by value; a token Letta no longer knows is as good as revoked. */
async function deleteAtLetta(host: LettaHost, token: string): Promise<void> {
  await host.call('revoke the token', async (client) => {
    try {
      await client.accessTokens.delete(token);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  });
}

/**
 * Revokes at Letta every live token the given sessions minted (log-out, a password change,
 * "log out everywhere"), then marks them revoked here. One Letta cannot be told about stays
 * live in the record, so the admin screen shows it and can revoke it later; the log-out
 * itself still succeeds (it expires with the web token lifetime regardless).
 */
export async function revokeLettaTokensOfSessions(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'secrets'>,
  host: LettaHost,
  sessionIdHashes: string[],
): Promise<{ revoked: number; failed: number }> {
  if (sessionIdHashes.length === 0) return { revoked: 0, failed: 0 };
  const rows = await deps.db
    .select()
    .from(lettaTokens)
    .where(and(inArray(lettaTokens.sessionIdHash, sessionIdHashes), isNull(lettaTokens.revokedAt)));
  let revoked = 0;
  for (const row of rows) {
    try {
      await revokeRow(deps, host, row);
      revoked++;
    } catch {
      // Left live in the record: see above.
    }
  }
  return { revoked, failed: rows.length - revoked };
}

async function revokeRow(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'secrets'>,
  host: LettaHost,
  row: typeof lettaTokens.$inferSelect,
): Promise<void> {
  // Expired at Letta too: nothing to tell it.
  if (row.tokenCiphertext && row.expiresAt > deps.now()) {
    await deleteAtLetta(host, deps.secrets.open(row.tokenCiphertext, row.id));
  }
  await deps.db
    .update(lettaTokens)
    .set({ revokedAt: deps.now(), tokenCiphertext: null })
    .where(eq(lettaTokens.id, row.id));
}

/** A token minted at Letta, described as the admin page describes this server's own. */
export interface LettaTokenSummary extends Omit<ClientTokenSummary, 'lastUsedAt'> {
  /** Letta does not report a token's use. */
  lastUsedAt: null;
  /** Whether Letta lists it as live; null when Letta could not be asked. */
  atLetta: boolean | null;
}

/**
 * The admin's token list under Letta: the live tokens recorded here, newest first, each
 * joined with what Letta reports for its agent. `lettaError` says why Letta could not be
 * asked; the local record is shown regardless.
 */
export async function listLettaTokenSummaries(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'secrets'>,
  host: LettaHost,
  args: { organizationId: string; agentId?: string | undefined; limit: number; offset: number },
): Promise<{ hasNextPage: boolean; tokens: LettaTokenSummary[]; lettaError?: string }> {
  const rows = await deps.db
    .select()
    .from(lettaTokens)
    .where(
      and(
        eq(lettaTokens.organizationId, args.organizationId),
        isNull(lettaTokens.revokedAt),
        gt(lettaTokens.expiresAt, deps.now()),
        args.agentId ? eq(lettaTokens.agentId, args.agentId) : undefined,
      ),
    )
    .orderBy(desc(lettaTokens.createdAt), desc(lettaTokens.id))
    .limit(args.limit + 1)
    .offset(args.offset);
  const page = rows.slice(0, args.limit);
  let atLetta: Set<string> | undefined;
  let lettaError: string | undefined;
  try {
    atLetta = await tokenHashesAtLetta(host, [...new Set(page.map((r) => r.agentId))]);
  } catch (error) {
    lettaError = error instanceof Error ? error.message : String(error);
  }
  return {
    hasNextPage: rows.length > args.limit,
    tokens: page.map((row) => ({
      id: row.id,
      hint: row.hint,
      hostname: row.hostname,
      policy: row.policy,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      lastUsedAt: null,
      atLetta: atLetta ? atLetta.has(row.tokenHash) : null,
    })),
    ...(lettaError ? { lettaError } : {}),
  };
}

/** Letta's live tokens for these agents, by hash (values are compared hashed, never shown). */
async function tokenHashesAtLetta(host: LettaHost, agentIds: string[]): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const agentId of agentIds) {
    // A person holds a few live tokens at a time; 10 pages of 100 is far beyond that.
    for (let offset = 0, page = 0; page < 10; page++, offset += 100) {
      const listed = await host.call('list the tokens', (client) =>
        client.accessTokens.list({ agentId, limit: 100, offset }),
      );
      for (const token of listed.tokens) hashes.add(hashToken(token.token));
      if (!listed.hasNextPage) break;
    }
  }
  return hashes;
}

/** The admin's revoke, under Letta: at Letta first, then here. */
export async function revokeLettaTokenById(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'secrets'>,
  host: LettaHost,
  args: { organizationId: string; id: string },
): Promise<{ id: string }> {
  const [row] = await deps.db
    .select()
    .from(lettaTokens)
    .where(
      and(
        eq(lettaTokens.id, args.id),
        eq(lettaTokens.organizationId, args.organizationId),
        isNull(lettaTokens.revokedAt),
      ),
    );
  if (!row) throw notFound(`No live token ${args.id} in this organization`);
  await revokeRow(deps, host, row);
  return { id: row.id };
}
