import {
  agentIdsOf,
  expiresInSeconds,
  generateToken,
  normalizePolicy,
  type Policy,
  type PolicyEntry,
  parseHostname,
  parseToken,
  redactToken,
  resolveExpiry,
} from '@scopekit/policy';
import { and, desc, eq, gt, isNull, type SQL, sql } from 'drizzle-orm';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { UnreadableSecretError } from '../crypto/secret-box.js';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import { agents, clientTokenAgents, clientTokens } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { existingAgentIds } from './agents.js';
import type { ServiceDeps } from './deps.js';
import { newId } from './ids.js';

export interface ClientTokenView {
  /** Non-secret id: what logs, admin screens and `revoke` refer to. */
  id: string;
  /** The token itself; null once revoked (its ciphertext is erased then). */
  token: string | null;
  hint: string;
  hostname: string;
  policy: Policy;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
}

export interface MintedClientToken extends ClientTokenView {
  token: string;
  /** Seconds until expiry by the server's clock, so a client can refresh without trusting its own. */
  expiresIn: number;
}

export interface MintClientTokenArgs {
  organizationId: string;
  /** The API key that asks, if any: recorded for audit, and revoked keys take nothing with them. */
  apiKeyId?: string | null;
  /** The log-in session that asks, if any (hashed): its log-out revokes the token. */
  sessionIdHash?: string | null;
  hostname: string;
  policy: Policy | PolicyEntry[];
  expiresAt?: string | Date | undefined;
  /**
   * Lifetime from now, as an alternative to `expiresAt`: measured from the same clock reading
   * as `expiresIn`, so a caller asking for 600 s is told 600, not 599.
   */
  ttlMs?: number | undefined;
  /**
   * What the caller's edge calls the expiry, for error messages: REST's body says
   * `expires_at` (the default), tRPC's input `expiresAt`, the CLI `--expires-in`.
   */
  expiryField?: string;
}

export async function mintClientToken(
  deps: ServiceDeps,
  args: MintClientTokenArgs,
): Promise<MintedClientToken> {
  const { db, secrets } = deps;
  const now = deps.now();
  const hostname = parseHostname(args.hostname);
  if (!hostname.ok) throw badRequest(hostname.error, 'hostname');
  const policy = normalizePolicy(args.policy);
  if (policy.data.length === 0) throw badRequest('must grant at least one access', 'policy');
  const expiry = resolveExpiry({
    requested: args.ttlMs === undefined ? args.expiresAt : new Date(now.getTime() + args.ttlMs),
    now,
    maxTtlMs: deps.limits.tokenMaxTtlMs,
  });
  if (!expiry.ok) throw badRequest(expiry.error, args.expiryField ?? 'expires_at');
  const agentIds = agentIdsOf(policy);
  if (agentIds.length === 0) throw badRequest('must name at least one agent', 'policy');
  const id = newId('tok');
  const token = generateToken('client');
  const createdAt = now;
  // One statement, so one round trip and one commit: the token and its agent index rows
  // are written only if every agent named is one of the organization's.
  const agentList = sql.join(
    agentIds.map((agentId) => sql`(${agentId})`),
    sql`, `,
  );
  const inserted = await db.execute(sql`
    with named(id) as (values ${agentList}),
    token as (
      insert into ${clientTokens} (id, organization_id, api_key_id, session_id_hash, token_hash,
        token_ciphertext, hint, hostname, policy, created_at, expires_at)
      select ${id}, ${args.organizationId}, ${args.apiKeyId ?? null}, ${args.sessionIdHash ?? null},
        ${hashToken(token)},
        ${secrets.seal(token, id)}, ${redactToken(token)}, ${hostname.value},
        ${JSON.stringify(policy)}::jsonb, ${createdAt.toISOString()}::timestamptz,
        ${expiry.value.toISOString()}::timestamptz
      where (select count(*) from ${agents} a join named on named.id = a.id
             where a.organization_id = ${args.organizationId}) = ${agentIds.length}
      returning id, created_at)
    insert into ${clientTokenAgents} (token_id, agent_id, created_at)
    select token.id, named.id, token.created_at from token cross join named
    returning token_id`);
  if (rowsOf(inserted).length === 0)
    await refuseUnknownAgent(deps, args.organizationId, args.policy);
  return {
    id,
    token,
    hint: redactToken(token),
    hostname: hostname.value,
    policy,
    createdAt: createdAt.toISOString(),
    expiresAt: expiry.value.toISOString(),
    lastUsedAt: null,
    expiresIn: expiresInSeconds(expiry.value, now),
  };
}

/** The mint wrote nothing because an agent is not the organization's: say which one. */
async function refuseUnknownAgent(
  deps: ServiceDeps,
  organizationId: string,
  requested: Policy | PolicyEntry[],
): Promise<never> {
  // The index points into the policy as the caller wrote it, not as normalisation reordered it.
  const entries = Array.isArray(requested) ? requested : requested.data;
  const ids = entries.map((entry) => entry.id);
  const known = await existingAgentIds(deps, { organizationId, ids });
  const index = ids.findIndex((agentId) => !known.has(agentId));
  const unknownId = ids[index];
  throw badRequest(
    `agent ${unknownId ?? ids.join(', ')} does not exist in your organization`,
    `policy[${Math.max(0, index)}].id`,
  );
}

/** The request's logger, as Fastify's (pino) has it. */
export interface WarningLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The deepest page a listing may ask for: offset paging walks every row before it. */
export const MAX_LIST_OFFSET = 1_000_000;

export interface ListClientTokensArgs {
  organizationId: string;
  agentId?: string | undefined;
  limit: number;
  offset: number;
  /** Told of each token whose value no configured key decrypts (by id, never the ciphertext). */
  log?: WarningLog | undefined;
}

export interface ClientTokenPage {
  hasNextPage: boolean;
  tokens: ClientTokenView[];
}

/**
 * The listing queries, built once per database and prepared: building a join through the
 * query builder cost more than running it (about 1 ms against 0.25 ms).
 */
const listQueries = new WeakMap<Database, ReturnType<typeof prepareListQueries>>();

function listQueriesFor(db: Database) {
  let queries = listQueries.get(db);
  if (!queries) {
    queries = prepareListQueries(db);
    listQueries.set(db, queries);
  }
  return queries;
}

function prepareListQueries(db: Database) {
  const live = and(
    eq(clientTokens.organizationId, sql.placeholder('organizationId')),
    isNull(clientTokens.revokedAt),
    gt(clientTokens.expiresAt, sql`${sql.placeholder('now')}::timestamptz`),
  );
  return {
    all: db
      .select()
      .from(clientTokens)
      .where(live)
      .orderBy(desc(clientTokens.createdAt), desc(clientTokens.id))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('offset'))
      .prepare('list_client_tokens'),
    // With an agent, walk that agent's index range newest first and join each token, so the
    // cost is the page size, not the number of tokens in the organization.
    byAgent: db
      .select({ token: clientTokens })
      .from(clientTokenAgents)
      .innerJoin(clientTokens, eq(clientTokens.id, clientTokenAgents.tokenId))
      .where(and(eq(clientTokenAgents.agentId, sql.placeholder('agentId')), live))
      .orderBy(desc(clientTokenAgents.createdAt), desc(clientTokenAgents.tokenId))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('offset'))
      .prepare('list_client_tokens_by_agent'),
  };
}

/** Live tokens only (neither revoked nor expired), newest first. */
export async function listClientTokens(
  deps: ServiceDeps,
  args: ListClientTokensArgs,
): Promise<ClientTokenPage> {
  if (!Number.isInteger(args.limit) || args.limit < 1 || args.limit > 100) {
    throw badRequest('must be an integer from 1 to 100', 'limit');
  }
  if (!Number.isInteger(args.offset) || args.offset < 0) {
    throw badRequest('must be a non-negative integer', 'offset');
  }
  const { secrets } = deps;
  const queries = listQueriesFor(deps.db);
  const params = {
    organizationId: args.organizationId,
    now: deps.now().toISOString(),
    limit: args.limit + 1,
    offset: args.offset,
  };
  const rows =
    args.agentId === undefined
      ? await queries.all.execute(params)
      : (await queries.byAgent.execute({ ...params, agentId: args.agentId })).map((r) => r.token);
  // A changed or lost SCOPEKIT_ENCRYPTION_KEY costs the listing those tokens' values, not the
  // listing itself: the tokens still work (they are checked by hash) and can be revoked by id.
  const open = (sealed: string, tokenId: string) => {
    try {
      return secrets.open(sealed, tokenId);
    } catch (error) {
      if (!(error instanceof UnreadableSecretError)) throw error;
      args.log?.warn(
        { tokenId },
        'client token value cannot be decrypted with SCOPEKIT_ENCRYPTION_KEY or any of SCOPEKIT_ENCRYPTION_KEY_PREVIOUS; listed without it',
      );
      return null;
    }
  };
  return {
    hasNextPage: rows.length > args.limit,
    tokens: rows.slice(0, args.limit).map((row) => toView(row, open)),
  };
}

export async function revokeClientTokenById(
  deps: ServiceDeps,
  args: { organizationId: string; id: string },
): Promise<ClientTokenView> {
  return revokeWhere(
    deps,
    eq(clientTokens.id, args.id),
    args.organizationId,
    `No live token ${args.id} in this organization`,
  );
}

/** Log-out takes with it every token the session minted, so nothing it handed out lives on. */
export async function revokeClientTokensOfSession(
  deps: ServiceDeps,
  args: { sessionIdHash: string },
): Promise<number> {
  const rows = await revokeAndAnnounce(deps, (db) =>
    db
      .update(clientTokens)
      .set({ revokedAt: deps.now(), tokenCiphertext: null })
      .where(
        and(eq(clientTokens.sessionIdHash, args.sessionIdHash), isNull(clientTokens.revokedAt)),
      )
      .returning({ tokenHash: clientTokens.tokenHash }),
  );
  return rows.length;
}

/** Letta deletes by the token's value; it is hashed at once and never compared in plaintext. */
export async function revokeClientTokenByValue(
  deps: ServiceDeps,
  args: { organizationId: string; token: string },
): Promise<ClientTokenView> {
  const parsed = parseToken(args.token);
  if (!parsed.ok || parsed.value.kind !== 'client') {
    throw badRequest('is not a client-side access token (ck-let-…)', 'token');
  }
  return revokeWhere(
    deps,
    eq(clientTokens.tokenHash, hashToken(args.token)),
    args.organizationId,
    'No live client-side token with this value in your organization',
  );
}

/** Refused at once on this instance (the cache is evicted before answering), on others within milliseconds. */
async function revokeWhere(
  deps: ServiceDeps,
  match: SQL,
  organizationId: string,
  missing: string,
): Promise<ClientTokenView> {
  const [row] = await revokeAndAnnounce(deps, (db) =>
    db
      .update(clientTokens)
      .set({ revokedAt: deps.now(), tokenCiphertext: null })
      .where(
        and(match, eq(clientTokens.organizationId, organizationId), isNull(clientTokens.revokedAt)),
      )
      .returning(),
  );
  if (!row) throw notFound(missing);
  return toView(row, () => null);
}

function toView(
  row: typeof clientTokens.$inferSelect,
  open: (sealed: string, aad: string) => string | null,
): ClientTokenView {
  return {
    id: row.id,
    token: row.tokenCiphertext ? open(row.tokenCiphertext, row.id) : null,
    hint: row.hint,
    hostname: row.hostname,
    policy: row.policy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
