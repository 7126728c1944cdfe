import { generateToken, redactToken } from '@scopekit/policy';
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { apiKeys, clientTokens } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../lib/ids.js';

export interface ApiKeyView {
  id: string;
  name: string;
  hint: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** The key's value is returned here and nowhere else: only its hash is stored. */
export async function createApiKey(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; name: string },
): Promise<ApiKeyView & { key: string }> {
  const name = args.name.trim();
  if (!name || name.length > 100) throw badRequest('must be 1 to 100 characters', 'name');
  const key = generateToken('server');
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: newId('key'),
      organizationId: args.organizationId,
      name,
      tokenHash: hashToken(key),
      hint: redactToken(key),
    })
    .returning();
  if (!row) throw new Error('Inserting an API key returned no row');
  return { ...toView(row), key };
}

export async function listApiKeys(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string },
): Promise<ApiKeyView[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.organizationId, args.organizationId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  return rows.map(toView);
}

/**
 * The key and every live client token it minted stop working together, in one transaction: at
 * once on this instance, and on every other within milliseconds. A leaked key's tokens would
 * otherwise outlive it by up to the maximum TTL. The tokens' ciphertexts are erased, as
 * revoking a token does, so the list call cannot show them again.
 */
export async function revokeApiKey(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'tokenCache' | 'bus'>,
  args: { organizationId: string; id: string },
): Promise<ApiKeyView> {
  const now = deps.now();
  let revoked: typeof apiKeys.$inferSelect | undefined;
  await revokeAndAnnounce(deps, async (db) => {
    const [key] = await db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(
        and(
          eq(apiKeys.id, args.id),
          eq(apiKeys.organizationId, args.organizationId),
          isNull(apiKeys.revokedAt),
        ),
      )
      .returning();
    if (!key) return [];
    revoked = key;
    // The organization narrows the search to its live-token index: api_key_id has none.
    const tokens = await db
      .update(clientTokens)
      .set({ revokedAt: now, tokenCiphertext: null })
      .where(
        and(
          eq(clientTokens.organizationId, key.organizationId),
          eq(clientTokens.apiKeyId, key.id),
          isNull(clientTokens.revokedAt),
          gt(clientTokens.expiresAt, now),
        ),
      )
      .returning({ tokenHash: clientTokens.tokenHash });
    return [key, ...tokens];
  });
  if (!revoked) throw notFound(`No live API key ${args.id} in this organization`);
  return toView(revoked);
}

function toView(row: typeof apiKeys.$inferSelect): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
