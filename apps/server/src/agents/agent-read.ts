// Reading agents: one by id, which exist, and the paged, filtered list.
import { and, asc, desc, eq, ilike, inArray, type SQL, sql } from 'drizzle-orm';
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
  const conditions: (SQL | undefined)[] = [eq(agents.organizationId, organizationId)];
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
  // Cursors are agent ids; the order is (created_at, id) so equal timestamps stay stable.
  // The cursor's place is compared in the database: read into a Date, its microseconds
  // would be lost, and a page after it would start with the cursor itself again.
  const cursor = async (id: string, field: string) => {
    const [row] = await db
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, id), eq(agents.organizationId, organizationId)));
    if (!row) throw notFound(`${field}: agent ${id} not found`);
    return sql`(select c.created_at, c.id from agents c where c.id = ${id})`;
  };
  const place = sql`(${agents.createdAt}, ${agents.id})`;
  const newerThan = (c: SQL) => sql`${place} > ${c}`;
  const olderThan = (c: SQL) => sql`${place} < ${c}`;
  const descending = input.order === 'desc';
  if (input.after) {
    const c = await cursor(input.after, 'after');
    conditions.push(descending ? olderThan(c) : newerThan(c));
  }
  if (input.before) {
    const c = await cursor(input.before, 'before');
    conditions.push(descending ? newerThan(c) : olderThan(c));
  }
  // A `before` page is the agents nearest the cursor: walk backwards, then restore the order.
  const backwards = Boolean(input.before) && !input.after;
  const direction = descending !== backwards ? desc : asc;
  const rows = await db
    .select()
    .from(agents)
    .where(and(...conditions))
    .orderBy(direction(agents.createdAt), direction(agents.id))
    .limit(input.limit);
  if (backwards) rows.reverse();
  return withBlocks(db, rows);
}
