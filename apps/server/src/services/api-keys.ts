import { generateToken, redactToken } from '@scopekit/policy';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { revokeAndAnnounce } from '../auth/token-cache.js';
import { hashToken } from '../crypto/hash.js';
import { apiKeys } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { newId } from './ids.js';

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

/** The key stops working at once on this instance, and on every other within milliseconds. */
export async function revokeApiKey(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'tokenCache' | 'bus'>,
  args: { organizationId: string; id: string },
): Promise<ApiKeyView> {
  const { now } = deps;
  const [row] = await revokeAndAnnounce(deps, (db) =>
    db
      .update(apiKeys)
      .set({ revokedAt: now() })
      .where(
        and(
          eq(apiKeys.id, args.id),
          eq(apiKeys.organizationId, args.organizationId),
          isNull(apiKeys.revokedAt),
        ),
      )
      .returning(),
  );
  if (!row) throw notFound(`No live API key ${args.id} in this organization`);
  return toView(row);
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
