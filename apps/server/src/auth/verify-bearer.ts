import { describeTokenError, originMatches, parseToken } from '@scopekit/policy';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { hashToken } from '../crypto/hash.js';
import { apiKeys, clientTokens } from '../db/schema.js';
import { forbidden, unauthorized } from '../errors.js';
import type { ServiceDeps } from '../services/deps.js';
import type { Principal } from './principal.js';

export interface BearerRequest {
  /** The raw `Authorization` header. */
  authorization: string | undefined;
  /** The raw `Origin` header: client-side tokens are bound to one. */
  origin: string | undefined;
}

/** `last_used_at` is a hint for people, not an audit log: one write a minute per credential is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Turns an `Authorization: Bearer …` header into a principal, or throws 401 for a missing,
 * malformed, unknown, expired or revoked credential and 403 for a client-side token used
 * from an origin it is not bound to. Malformed tokens are refused offline by their checksum.
 */
export async function verifyBearer(deps: ServiceDeps, request: BearerRequest): Promise<Principal> {
  const token = bearerToken(request.authorization);
  const parsed = parseToken(token);
  if (!parsed.ok) throw unauthorized(`Invalid API Key: ${describeTokenError(parsed.error)}`);
  const hash = hashToken(token);
  const now = deps.now();
  if (parsed.value.kind === 'server') {
    const [key] = await deps.db.select().from(apiKeys).where(eq(apiKeys.tokenHash, hash));
    if (!key) throw unauthorized('Invalid API Key');
    if (key.revokedAt) throw unauthorized('Invalid API Key: this key has been revoked');
    if (isStale(key.lastUsedAt, now)) {
      await deps.db
        .update(apiKeys)
        .set({ lastUsedAt: now })
        .where(and(eq(apiKeys.id, key.id), staleCondition(apiKeys.lastUsedAt, now)));
    }
    return { kind: 'apiKey', organizationId: key.organizationId, apiKeyId: key.id };
  }
  const [row] = await deps.db.select().from(clientTokens).where(eq(clientTokens.tokenHash, hash));
  if (!row) throw unauthorized('Invalid API Key');
  if (row.revokedAt) throw unauthorized('Invalid API Key: this token has been revoked');
  if (row.expiresAt <= now) {
    throw unauthorized(`Invalid API Key: this token expired at ${row.expiresAt.toISOString()}`);
  }
  if (!request.origin) {
    throw forbidden(
      `This client-side token is bound to ${row.hostname}; the request has no Origin header to match it`,
    );
  }
  if (!originMatches(row.hostname, request.origin)) {
    throw forbidden(`This client-side token is bound to ${row.hostname}, not to this origin`);
  }
  if (isStale(row.lastUsedAt, now)) {
    await deps.db
      .update(clientTokens)
      .set({ lastUsedAt: now })
      .where(and(eq(clientTokens.id, row.id), staleCondition(clientTokens.lastUsedAt, now)));
  }
  return {
    kind: 'clientToken',
    organizationId: row.organizationId,
    tokenId: row.id,
    policy: row.policy,
    hostname: row.hostname,
    expiresAt: row.expiresAt,
  };
}

function bearerToken(header: string | undefined): string {
  if (!header) {
    throw unauthorized('Missing Authorization header; send "Authorization: Bearer <key>"');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw unauthorized('Malformed Authorization header; expected "Bearer <key>"');
  }
  return match[1];
}

const isStale = (lastUsedAt: Date | null, now: Date) =>
  lastUsedAt === null || now.getTime() - lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS;

const staleCondition = (
  column: typeof apiKeys.lastUsedAt | typeof clientTokens.lastUsedAt,
  now: Date,
) => or(isNull(column), lt(column, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)));
