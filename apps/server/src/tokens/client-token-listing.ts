// Listing an organization's live client tokens, a page at a time, with or without their values.
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { UnreadableSecretError } from '../crypto/secret-box.js';
import type { Database } from '../db/client.js';
import { clientTokenAgents, clientTokens } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { parseInput } from '../lib/parse-input.js';
import { type ClientTokenSummary, type ClientTokenView, toSummary } from './client-tokens.js';

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
