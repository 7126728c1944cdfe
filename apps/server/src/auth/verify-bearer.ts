import { describeTokenError, originMatches, parseToken } from '@scopekit/policy';
import { eq } from 'drizzle-orm';
import { hashToken } from '../crypto/hash.js';
import { apiKeys, clientTokens } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { forbidden, unauthorized } from '../errors.js';
import type { Principal } from './principal.js';
import { type CachedCredential, principalOf, type VerifiedCredential } from './token-cache.js';

export interface BearerRequest {
  /** The raw `Authorization` header. */
  authorization: string | undefined;
  /** The raw `Origin` header: client-side tokens are bound to one. */
  origin: string | undefined;
}

type VerifyDeps = Pick<ServiceDeps, 'db' | 'now' | 'tokenCache' | 'lastUsed' | 'clientTokenOrigin'>;

/**
 * Runs the database read of a credential the cache does not hold: the edges pass one that
 * holds the read to the limit of failed authentications per client address.
 */
export type GuardRead = (read: () => Promise<VerifiedCredential>) => Promise<VerifiedCredential>;

const unguarded: GuardRead = (read) => read();

/**
 * Turns an `Authorization: Bearer …` header into a principal, or throws 401 for a missing,
 * malformed, unknown, expired or revoked credential and 403 for a client-side token used
 * from an origin it is not bound to.
 *
 * Cost, cheapest first: a credential verified recently is found in the in-process cache by
 * its value (`verifyCachedBearer`: a map look-up, its checksum, hash and principal computed
 * once, when it was verified); a malformed token is refused offline by its checksum; one not
 * found by value is looked for by its hash; only the rest read the database, through
 * `guardRead`. `last_used_at` is recorded in memory and written behind.
 */
export async function verifyBearer(
  deps: VerifyDeps,
  request: BearerRequest,
  guardRead: GuardRead = unguarded,
): Promise<Principal> {
  const cached = verifyCachedBearer(deps, request);
  if (cached) return cached;
  const token = bearerToken(request.authorization);
  const now = deps.now();
  return admit(deps, await verifyUncached(deps, token, now, guardRead), request.origin, now);
}

/**
 * The principal of a credential this instance verified recently and still holds, checked as
 * `verifyBearer` checks it, with no wait and nothing built: what a steady client's request
 * costs. Undefined when it must go through `verifyBearer` (no credential, a malformed one, or
 * one the cache does not hold by this value).
 */
export function verifyCachedBearer(
  deps: VerifyDeps,
  request: BearerRequest,
): Principal | undefined {
  const token = bearerValue(request.authorization);
  if (token === undefined) return undefined;
  const now = deps.now();
  const cached = deps.tokenCache.lookup(token, now);
  return cached && admit(deps, cached, request.origin, now);
}

/** A verified credential let in from `origin`: its use recorded, its principal returned. */
function admit(
  deps: VerifyDeps,
  { credential, principal }: Pick<CachedCredential, 'credential' | 'principal'>,
  origin: string | undefined,
  now: Date,
): Principal {
  if (credential.kind === 'clientToken') {
    checkOrigin(credential.hostname, origin, deps.clientTokenOrigin);
  }
  deps.lastUsed.record(credential.kind, credential.id, now);
  return principal;
}

/** A credential `lookup` did not find: checked offline, then in the cache by its hash, then read. */
async function verifyUncached(
  deps: VerifyDeps,
  token: string,
  now: Date,
  guardRead: GuardRead,
): Promise<Pick<CachedCredential, 'credential' | 'principal'>> {
  const parsed = parseToken(token);
  if (!parsed.ok) throw unauthorized(`Invalid API Key: ${describeTokenError(parsed.error)}`);
  const hash = hashToken(token);
  const cached = deps.tokenCache.find(hash, now);
  if (cached) return cached;
  const credential = await guardRead(() =>
    readCredential(deps, token, hash, parsed.value.kind, now),
  );
  return { credential, principal: principalOf(credential) };
}

/** The database's word on a credential the cache does not hold; a usable one is cached. */
async function readCredential(
  deps: VerifyDeps,
  token: string,
  hash: string,
  kind: 'server' | 'client',
  now: Date,
): Promise<VerifiedCredential> {
  const generation = deps.tokenCache.generation();
  let credential: VerifiedCredential;
  if (kind === 'server') {
    const [key] = await deps.db
      .select({
        id: apiKeys.id,
        organizationId: apiKeys.organizationId,
        revokedAt: apiKeys.revokedAt,
      })
      .from(apiKeys)
      .where(eq(apiKeys.tokenHash, hash));
    if (!key) throw unauthorized('Invalid API Key');
    if (key.revokedAt) throw unauthorized('Invalid API Key: this key has been revoked');
    credential = { kind: 'apiKey', id: key.id, organizationId: key.organizationId };
  } else {
    const [row] = await deps.db
      .select({
        id: clientTokens.id,
        organizationId: clientTokens.organizationId,
        policy: clientTokens.policy,
        hostname: clientTokens.hostname,
        expiresAt: clientTokens.expiresAt,
        revokedAt: clientTokens.revokedAt,
        keyRevokedAt: apiKeys.revokedAt,
      })
      .from(clientTokens)
      // Revoking a key revokes its tokens, and no mint commits past a revocation; the key is
      // checked here too, so a token row left live by any other path still dies with it.
      .leftJoin(apiKeys, eq(apiKeys.id, clientTokens.apiKeyId))
      .where(eq(clientTokens.tokenHash, hash));
    if (!row) throw unauthorized('Invalid API Key');
    if (row.revokedAt || row.keyRevokedAt) {
      throw unauthorized('Invalid API Key: this token has been revoked');
    }
    if (row.expiresAt <= now) {
      throw unauthorized(`Invalid API Key: this token expired at ${row.expiresAt.toISOString()}`);
    }
    credential = {
      kind: 'clientToken',
      id: row.id,
      organizationId: row.organizationId,
      policy: row.policy,
      hostname: row.hostname,
      expiresAt: row.expiresAt,
    };
  }
  deps.tokenCache.set(hash, credential, generation, token);
  return credential;
}

/** The cache key of the credential in an `Authorization` header, or undefined if it has none. */
export function credentialHash(authorization: string | undefined): string | undefined {
  const value = bearerValue(authorization);
  return value === undefined ? undefined : hashToken(value);
}

/** What follows `Bearer` in an `Authorization` header, if it is one. */
function bearerValue(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/**
 * A browser always names the page's origin, so a token bound to one hostname is refused on
 * another site's page. A client outside a browser sends none, and could send any: with
 * `SCOPEKIT_CLIENT_TOKEN_ORIGIN=optional` such a client is let through, as Letta Cloud does.
 */
function checkOrigin(
  hostname: string,
  origin: string | undefined,
  whenMissing: 'required' | 'optional',
) {
  if (!origin && whenMissing === 'optional') return;
  if (!origin) {
    throw forbidden(
      `This client-side token is bound to ${hostname}; the request has no Origin header to match it (a client outside a browser is let in only when the server sets SCOPEKIT_CLIENT_TOKEN_ORIGIN=optional)`,
    );
  }
  // Hostnames are stored normalised, so the usual exact match skips parsing the origin.
  if (origin !== hostname && !originMatches(hostname, origin)) {
    throw forbidden(`This client-side token is bound to ${hostname}, not to this origin`);
  }
}

function bearerToken(header: string | undefined): string {
  if (!header) {
    throw unauthorized('Missing Authorization header; send "Authorization: Bearer <key>"');
  }
  const value = bearerValue(header);
  if (value === undefined) {
    throw unauthorized('Malformed Authorization header; expected "Bearer <key>"');
  }
  return value;
}
