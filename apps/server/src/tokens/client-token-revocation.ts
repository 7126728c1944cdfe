// Revoking a client token, by id (admin screens, the CLI) or by value (Letta's API).
import { parseToken } from '@scopekit/policy';
import { and, eq, isNull, type SQL } from 'drizzle-orm';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { clientTokens } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { badRequest, notFound } from '../errors.js';
import { type ClientTokenSummary, toSummary } from './client-tokens.js';

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
