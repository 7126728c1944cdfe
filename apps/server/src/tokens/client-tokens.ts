import {
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
import { z } from 'zod';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { UnreadableSecretError } from '../crypto/secret-box.js';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import { apiKeys, clientTokenAgents, clientTokens, sessions } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { badRequest, notFound, sessionEnded, unauthorized } from '../errors.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import {
  allNamedExistSql,
  existingResources,
  namedResources,
  namedResourcesSql,
  tokenIndexInsertsSql,
} from './resource-tables.js';
import { grantablePolicy, refuseBeyondGrant, type TokenIssuer } from './token-issuer.js';

/** A token as listings and revocations describe it: everything but its value. */
export interface ClientTokenSummary {
  /** Non-secret id: what logs, admin screens and `revoke` refer to. */
  id: string;
  hint: string;
  hostname: string;
  policy: Policy;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
}

/** A live token as its own organization's key lists it: with its value, decrypted. */
export interface ClientTokenView extends ClientTokenSummary {
  /** Null when no configured encryption key opens the stored value (see `listClientTokens`). */
  token: string | null;
}

export interface MintedClientToken extends ClientTokenSummary {
  token: string;
  /** Seconds until expiry by the server's clock, so a client can refresh without trusting its own. */
  expiresIn: number;
}

export interface MintClientTokenArgs {
  organizationId: string;
  /**
   * Who asks (an API key, a log-in session): bounds what the token may be given, and the
   * token dies with it. Left out by the operator (the CLI).
   */
  issuer?: TokenIssuer | undefined;
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
  const { issuer, organizationId } = args;
  const now = deps.now();
  const hostname = parseHostname(args.hostname);
  if (!hostname.ok) throw badRequest(hostname.error, 'hostname');
  const requested = Array.isArray(args.policy) ? args.policy : args.policy.data;
  const policy = normalizePolicy(requested);
  if (policy.data.length === 0) throw badRequest('must grant at least one access', 'policy');
  const expiry = resolveExpiry({
    requested: args.ttlMs === undefined ? args.expiresAt : new Date(now.getTime() + args.ttlMs),
    now,
    maxTtlMs: deps.limits.tokenMaxTtlMs,
  });
  if (!expiry.ok) throw badRequest(expiry.error, args.expiryField ?? 'expires_at');
  const named = namedResources(policy);
  // Taking every resource named to be the organization's: the statement below checks that.
  refuseBeyondGrant(
    requested,
    grantablePolicy(
      issuer,
      named.flatMap(({ type, ids }) => ids.map((id) => ({ type, id }))),
    ),
    issuer,
  );
  const id = newId('tok');
  const token = generateToken('client');
  const createdAt = now;
  // One statement, so one round trip and one commit: the token and its index rows (one per
  // resource named) are written only if every resource named is one of the organization's
  // and the issuer still lives. Its row is read `for share`, which waits for a revocation or
  // log-out in flight (they update or delete that row first) and then sees it, and holds
  // either back until this commits, so that they find this token: none can outlive its issuer.
  const inserted = await db.execute(sql`
    with ${namedResourcesSql(named)},
    token as (
      insert into ${clientTokens} (id, organization_id, api_key_id, session_id_hash, token_hash,
        token_ciphertext, hint, hostname, policy, created_at, expires_at)
      select ${id}, ${organizationId},
        ${issuer?.kind === 'apiKey' ? issuer.apiKeyId : null},
        ${issuer?.kind === 'session' ? issuer.sessionIdHash : null},
        ${hashToken(token)},
        ${secrets.seal(token, id)}, ${redactToken(token)}, ${hostname.value},
        ${JSON.stringify(policy)}::jsonb, ${createdAt.toISOString()}::timestamptz,
        ${expiry.value.toISOString()}::timestamptz
      where ${allNamedExistSql(named, organizationId)}
        and ${issuerLives(issuer, organizationId, now)}
      returning id, created_at),
    ${tokenIndexInsertsSql(named)}
    select id from token`);
  if (rowsOf(inserted).length === 0) await refuseMint(deps, args, requested, now);
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

/** The mint's condition on its issuer, locking the issuer's row until the mint commits. */
function issuerLives(issuer: TokenIssuer | undefined, organizationId: string, now: Date): SQL {
  if (issuer?.kind === 'apiKey') {
    return sql`exists (select 1 from ${apiKeys} where id = ${issuer.apiKeyId}
      and organization_id = ${organizationId} and revoked_at is null for share)`;
  }
  if (issuer?.kind === 'session') {
    return sql`exists (select 1 from ${sessions} where id_hash = ${issuer.sessionIdHash}
      and expires_at > ${now.toISOString()}::timestamptz for share)`;
  }
  return sql`true`;
}

/** The mint wrote nothing: its issuer is gone (401), or a resource is not the organization's (400). */
async function refuseMint(
  deps: ServiceDeps,
  args: MintClientTokenArgs,
  requested: PolicyEntry[],
  now: Date,
): Promise<never> {
  const { issuer, organizationId } = args;
  if (issuer?.kind === 'apiKey') {
    const [key] = await deps.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, issuer.apiKeyId), isNull(apiKeys.revokedAt)));
    if (!key) throw unauthorized('Invalid API Key: this key has been revoked');
  }
  if (issuer?.kind === 'session') {
    const [session] = await deps.db
      .select({ idHash: sessions.idHash })
      .from(sessions)
      .where(and(eq(sessions.idHash, issuer.sessionIdHash), gt(sessions.expiresAt, now)));
    if (!session) throw sessionEnded();
  }
  const known = await existingResources(deps, { organizationId, resources: requested });
  refuseBeyondGrant(requested, grantablePolicy(issuer, known), issuer);
  throw new Error('A mint wrote nothing although its issuer and every agent it names exist');
}

/** The request's logger, as Fastify's (pino) has it. */
export interface WarningLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The deepest page a listing may ask for: offset paging walks every row before it. */
export const MAX_LIST_OFFSET = 1_000_000;

/** Which page of tokens a listing asks for; each edge gives its own defaults. */
export const clientTokenPageSchema = z.strictObject({
  agentId: z.string().min(1).max(200).optional(),
  limit: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100'),
  offset: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be at least 0')
    .max(MAX_LIST_OFFSET, `must be at most ${MAX_LIST_OFFSET}`),
});

export interface ListClientTokensArgs {
  organizationId: string;
  agentId?: string | undefined;
  limit: number;
  offset: number;
  /** Told of each token whose value no configured key decrypts (by id, never the ciphertext). */
  log?: WarningLog | undefined;
}

export interface ClientTokenPage<T = ClientTokenView> {
  hasNextPage: boolean;
  tokens: T[];
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

/** Live tokens only (neither revoked nor expired), newest first, with their values. */
export async function listClientTokens(
  deps: ServiceDeps,
  args: ListClientTokensArgs,
): Promise<ClientTokenPage> {
  const { secrets } = deps;
  const page = await listLiveRows(deps, args);
  // A changed or lost SCOPEKIT_ENCRYPTION_KEY costs the listing those tokens' values, not the
  // listing itself: the tokens still work (they are checked by hash) and can be revoked by id.
  const open = (sealed: string | null, tokenId: string) => {
    if (sealed === null) return null;
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
    hasNextPage: page.hasNextPage,
    tokens: page.tokens.map((row) => ({
      ...toSummary(row),
      token: open(row.tokenCiphertext, row.id),
    })),
  };
}

/** As `listClientTokens`, for a screen that never shows values: none is decrypted. */
export async function listClientTokenSummaries(
  deps: ServiceDeps,
  args: ListClientTokensArgs,
): Promise<ClientTokenPage<ClientTokenSummary>> {
  const page = await listLiveRows(deps, args);
  return { hasNextPage: page.hasNextPage, tokens: page.tokens.map(toSummary) };
}

async function listLiveRows(
  deps: ServiceDeps,
  args: ListClientTokensArgs,
): Promise<ClientTokenPage<typeof clientTokens.$inferSelect>> {
  const { agentId, limit, offset } = parseInput(clientTokenPageSchema, {
    agentId: args.agentId,
    limit: args.limit,
    offset: args.offset,
  });
  const queries = listQueriesFor(deps.db);
  const params = {
    organizationId: args.organizationId,
    now: deps.now().toISOString(),
    limit: limit + 1,
    offset,
  };
  const rows =
    agentId === undefined
      ? await queries.all.execute(params)
      : (await queries.byAgent.execute({ ...params, agentId })).map((r) => r.token);
  return { hasNextPage: rows.length > limit, tokens: rows.slice(0, limit) };
}

export async function revokeClientTokenById(
  deps: ServiceDeps,
  args: { organizationId: string; id: string },
): Promise<ClientTokenSummary> {
  return revokeWhere(
    deps,
    eq(clientTokens.id, args.id),
    args.organizationId,
    `No live token ${args.id} in this organization`,
  );
}

/** Letta deletes by the token's value; it is hashed at once and never compared in plaintext. */
export async function revokeClientTokenByValue(
  deps: ServiceDeps,
  args: { organizationId: string; token: string },
): Promise<ClientTokenSummary> {
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
): Promise<ClientTokenSummary> {
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
  return toSummary(row);
}

function toSummary(row: typeof clientTokens.$inferSelect): ClientTokenSummary {
  return {
    id: row.id,
    hint: row.hint,
    hostname: row.hostname,
    policy: row.policy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
