// Reading agents: one by id, which exist, and the paged, filtered list.
import { and, eq, ilike, inArray, type SQL, sql } from 'drizzle-orm';
import { readKeysetPage } from '../db/keyset-page.js';
import { agents } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { agentsOfIdentities } from '../identities/agent-links.js';
import { parseInput } from '../lib/parse-input.js';
import { withBlocks } from './agent-blocks.js';
import { type AgentListInput, agentListSchema } from './agent-schemas.js';
import type { AgentRow } from './agent-state.js';

/** Which of `ids` are agents of the organization. */
export async function existingAgentIds(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; ids: string[] },
): Promise<Set<string>> {
  if (args.ids.length === 0) return new Set();
  const rows = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.organizationId, args.organizationId), inArray(agents.id, args.ids)));
  return new Set(rows.map((r) => r.id));
}

/**
 * Fails with "not found" unless the agent is the organization's: the check alone, for callers
 * that need no more of the agent (a send's, before it waits for its turn), without reading
 * its memory as getAgent does.
 */
export async function requireAgent(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string },
): Promise<void> {
  const found = await existingAgentIds(deps, {
    organizationId: args.organizationId,
    ids: [args.agentId],
  });
  if (!found.has(args.agentId)) throw notFound(`Agent ${args.agentId} not found`);
}

/** An agent of another organization is "not found", never "forbidden": its existence is not ours to tell. */
export async function getAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string },
): Promise<AgentRow> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.id, args.agentId), eq(agents.organizationId, args.organizationId)));
  if (!row) throw notFound(`Agent ${args.agentId} not found`);
  const [withMemory] = await withBlocks(db, [row]);
  return withMemory as AgentRow;
}

export async function listAgents(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & AgentListInput,
): Promise<AgentRow[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(agentListSchema, query);
  const conditions: (SQL | undefined)[] = [];
  if (input.name) conditions.push(eq(agents.name, input.name));
  if (input.query_text) {
    conditions.push(ilike(agents.name, `%${input.query_text.replace(/[\\%_]/g, '\\$&')}%`));
  }
  conditions.push(...agentsOfIdentities(input));
  if (input.tags?.length) {
    const tags = sql`${sql.param(input.tags)}::text[]`;
    conditions.push(
      input.match_all_tags ? sql`${agents.tags} ?& ${tags}` : sql`${agents.tags} ?| ${tags}`,
    );
  }
  const rows = await readKeysetPage(
    db,
    agents,
    { organizationId, name: 'agent', where: conditions },
    input,
  );
  return withBlocks(db, rows);
}
