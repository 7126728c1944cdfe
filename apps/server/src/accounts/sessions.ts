import { randomBytes } from 'node:crypto';
import { normalizeOrigin } from '@scopekit/policy';
import { and, eq, gt, inArray, isNull } from 'drizzle-orm';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { clientTokens, sessions, users } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { forbidden } from '../errors.js';
import { revokeLettaTokensOfSessions } from '../letta-host/letta-tokens.js';
import { type MintedClientToken, mintClientToken } from '../tokens/client-tokens.js';
import { grantablePolicy } from '../tokens/token-issuer.js';
import { toUserView, type UserView } from './users.js';

export interface NewSession {
  /** The cookie value: 256 random bits, shown to the browser only. */
  sessionId: string;
  expiresAt: Date;
}

export interface ActiveSession {
  user: UserView;
  /** What is stored and what tokens refer to; the raw id never leaves the cookie. */
  sessionIdHash: string;
  expiresAt: Date;
}

export async function createSession(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'accounts'>,
  args: { userId: string },
): Promise<NewSession> {
  const sessionId = randomBytes(32).toString('base64url');
  const expiresAt = new Date(deps.now().getTime() + deps.accounts.sessionTtlMs);
  await deps.db
    .insert(sessions)
    .values({ idHash: hashToken(sessionId), userId: args.userId, expiresAt });
  return { sessionId, expiresAt };
}

/** The session a cookie names, or null when it is unknown, ended or expired. */
export async function resolveSession(
  deps: Pick<ServiceDeps, 'db' | 'now'>,
  args: { sessionId: string },
): Promise<ActiveSession | null> {
  if (!args.sessionId || args.sessionId.length > 200) return null;
  const idHash = hashToken(args.sessionId);
  const [row] = await deps.db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, deps.now())));
  if (!row) return null;
  return { user: toUserView(row.user), sessionIdHash: idHash, expiresAt: row.session.expiresAt };
}

/**
 * Ends the session and revokes every token it minted, in one transaction, so nothing it
 * handed out lives on. Ending an unknown session is a no-op.
 */
export async function endSession(deps: ServiceDeps, args: { sessionId: string }): Promise<void> {
  const idHash = hashToken(args.sessionId);
  await revokeAndAnnounce(deps, async (db) => {
    // Deleted first: a mint racing this log-out waits on the row, then finds no session.
    await db.delete(sessions).where(eq(sessions.idHash, idHash));
    return db
      .update(clientTokens)
      .set({ revokedAt: deps.now(), tokenCiphertext: null })
      .where(and(eq(clientTokens.sessionIdHash, idHash), isNull(clientTokens.revokedAt)))
      .returning({ tokenHash: clientTokens.tokenHash });
  });
  if (deps.lettaHost) await revokeLettaTokensOfSessions(deps, deps.lettaHost, [idHash]);
}

/**
 * Ends every session of a user and revokes every token they minted, in one transaction (and
 * in the caller's, when given: a password change commits with its sessions' end). For a
 * changed password and "log out everywhere": a session opened with the old password, or on
 * a lost device, must not outlive them.
 */
export async function endSessionsOf(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'tokenCache' | 'bus' | 'secrets' | 'lettaHost'>,
  args: { userId: string },
  before: (db: ServiceDeps['db']) => Promise<void> = async () => {},
): Promise<void> {
  let endedHashes: string[] = [];
  await revokeAndAnnounce(deps, async (db) => {
    await before(db);
    const ended = await db
      .delete(sessions)
      .where(eq(sessions.userId, args.userId))
      .returning({ idHash: sessions.idHash });
    endedHashes = ended.map((s) => s.idHash);
    if (!ended.length) return [];
    return db
      .update(clientTokens)
      .set({ revokedAt: deps.now(), tokenCiphertext: null })
      .where(
        and(
          inArray(
            clientTokens.sessionIdHash,
            ended.map((s) => s.idHash),
          ),
          isNull(clientTokens.revokedAt),
        ),
      )
      .returning({ tokenHash: clientTokens.tokenHash });
  });
  // Letta is told once the sessions' end has committed: it cannot join the transaction.
  if (deps.lettaHost) await revokeLettaTokensOfSessions(deps, deps.lettaHost, endedHashes);
}

/** The web user whose session minted a client token, or null for a token an API key minted. */
export async function userOfToken(
  deps: Pick<ServiceDeps, 'db'>,
  args: { tokenId: string },
): Promise<string | null> {
  const [row] = await deps.db
    .select({ userId: sessions.userId })
    .from(clientTokens)
    .innerJoin(sessions, eq(sessions.idHash, clientTokens.sessionIdHash))
    .where(eq(clientTokens.id, args.tokenId));
  return row?.userId ?? null;
}

export interface SessionToken {
  token: string;
  /** Seconds until expiry by the server's clock. */
  expiresIn: number;
  agentId: string;
  hostname: string;
}

/**
 * The browser's credential for talking to its agent directly: a `ck-let-` token for the
 * user's own agent only, bound to a web origin from the configured allow-list. The request's
 * `Origin` may only pick one of those; it never becomes a hostname by itself.
 */
export async function mintSessionToken(
  deps: ServiceDeps,
  args: { session: ActiveSession; origin: string | undefined },
): Promise<MintedClientToken & SessionToken> {
  const hostname = pickWebOrigin(deps.accounts.webOrigins, args.origin);
  const { user } = args.session;
  const issuer = {
    kind: 'session' as const,
    sessionIdHash: args.session.sessionIdHash,
    agentId: user.agentId,
  };
  // Everything a session may grant: its user's agent, with SESSION_ACCESS.
  const minted = await mintClientToken(deps, {
    organizationId: user.organizationId,
    issuer,
    hostname,
    policy: grantablePolicy(issuer, [{ type: 'agent', id: user.agentId }]),
    ttlMs: deps.accounts.webTokenTtlMs,
  });
  return { ...minted, agentId: user.agentId };
}

export function pickWebOrigin(webOrigins: string[], origin: string | undefined): string {
  if (origin === undefined) {
    const first = webOrigins[0];
    if (first === undefined) throw forbidden('No web origin is configured (SCOPEKIT_WEB_ORIGINS)');
    return first;
  }
  const normalized = normalizeOrigin(origin);
  if (normalized === null || !webOrigins.includes(normalized)) {
    throw forbidden(`Origin ${origin} is not one of the web app's origins (SCOPEKIT_WEB_ORIGINS)`);
  }
  return normalized;
}

export function isWebOrigin(webOrigins: string[], origin: string): boolean {
  const normalized = normalizeOrigin(origin);
  return normalized !== null && webOrigins.includes(normalized);
}
