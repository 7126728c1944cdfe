// Client tokens: their shapes, minting one, and the summary listings and revocations return.
import {
  expiresInSeconds,
  generateToken,
  normalizePolicy,
  type Policy,
  type PolicyEntry,
  parseHostname,
  redactToken,
  resolveExpiry,
} from '@scopekit/policy';
import { and, eq, gt, isNull, type SQL, sql } from 'drizzle-orm';
import { hashToken } from '../crypto/hash.js';
import { rowsOf } from '../db/rows.js';
import { apiKeys, clientTokens, sessions } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { badRequest, sessionEnded, unauthorized } from '../errors.js';
import { newId } from '../lib/ids.js';
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

/** A stored token row as listings and revocations describe it: everything but its value. */
export function toSummary(row: typeof clientTokens.$inferSelect): ClientTokenSummary {
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
