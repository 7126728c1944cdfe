import { and, asc, desc, eq, gt, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import { agents, type MemoryBlock } from '../db/schema.js';
import { notFound } from '../errors.js';
import {
  type AgentCreateInput,
  type AgentListInput,
  type AgentUpdateInput,
  agentCreateSchema,
  agentListSchema,
  agentUpdateSchema,
} from './agent-schemas.js';
import type { ServiceDeps } from './deps.js';
import { newId } from './ids.js';
import { parseInput } from './parse-input.js';

export type AgentRow = typeof agents.$inferSelect;

/** What a new agent starts with when the caller says nothing: enough for the builtin runtime. */
export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Keep answers short. Use your memory blocks: `persona` is who you are, `human` is what you know about the person you talk to.';
export const DEFAULT_MEMORY_BLOCKS: MemoryBlock[] = [
  { label: 'persona', value: 'I am a friendly assistant.' },
  { label: 'human', value: '' },
];

/** Letta's `AgentState`, as far as this server has one: the SDK types these fields. */
export interface AgentState {
  id: string;
  name: string;
  system: string;
  description: string | null;
  tags: string[];
  model: string | null;
  memory: { blocks: MemoryBlock[] };
  blocks: MemoryBlock[];
  llm_config: { model: string | null };
  agent_type: 'letta_v1_agent';
  tools: never[];
  sources: never[];
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

export function toAgentState(row: AgentRow): AgentState {
  return {
    id: row.id,
    name: row.name,
    system: row.system,
    description: row.description,
    tags: row.tags,
    model: row.model,
    memory: { blocks: row.memoryBlocks },
    blocks: row.memoryBlocks,
    llm_config: { model: row.model },
    agent_type: 'letta_v1_agent',
    tools: [],
    sources: [],
    metadata: row.metadata ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export async function createAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & AgentCreateInput,
): Promise<AgentRow> {
  const { organizationId, ...body } = args;
  const input = parseInput(agentCreateSchema, body);
  const id = newId('agent');
  const [row] = await db
    .insert(agents)
    .values({
      id,
      organizationId,
      name: input.name ?? `agent-${id.slice(6, 14)}`,
      system: input.system ?? DEFAULT_SYSTEM_PROMPT,
      description: input.description ?? null,
      model: input.model ?? null,
      tags: input.tags ?? [],
      memoryBlocks: input.memory_blocks ?? DEFAULT_MEMORY_BLOCKS,
      metadata: input.metadata ?? null,
    })
    .returning();
  if (!row) throw new Error('Inserting an agent returned no row');
  return row;
}

/** Which of `ids` are agents of the organization; a policy may only name those. */
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
  return row;
}

export async function listAgents(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & AgentListInput,
): Promise<AgentRow[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(agentListSchema, query);
  const conditions: (SQL | undefined)[] = [eq(agents.organizationId, organizationId)];
  if (input.name) conditions.push(eq(agents.name, input.name));
  if (input.tags?.length) {
    conditions.push(sql`${agents.tags} ?| ${sql.param(input.tags)}::text[]`);
  }
  // Cursors are agent ids; the order is (created_at, id) so equal timestamps stay stable.
  const cursor = async (id: string, field: string) => {
    const [row] = await db
      .select({ createdAt: agents.createdAt, id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, id), eq(agents.organizationId, organizationId)));
    if (!row) throw notFound(`${field}: agent ${id} not found`);
    return row;
  };
  const newerThan = (c: { createdAt: Date; id: string }) =>
    or(
      gt(agents.createdAt, c.createdAt),
      and(eq(agents.createdAt, c.createdAt), gt(agents.id, c.id)),
    );
  const olderThan = (c: { createdAt: Date; id: string }) =>
    or(
      lt(agents.createdAt, c.createdAt),
      and(eq(agents.createdAt, c.createdAt), lt(agents.id, c.id)),
    );
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
  return rows;
}

export async function updateAgent(
  { db, now }: Pick<ServiceDeps, 'db' | 'now'>,
  args: { organizationId: string; agentId: string } & AgentUpdateInput,
): Promise<AgentRow> {
  const { organizationId, agentId, ...body } = args;
  const input = parseInput(agentUpdateSchema, body);
  const [row] = await db
    .update(agents)
    .set({
      ...(input.name !== undefined && { name: input.name }),
      ...(input.system !== undefined && { system: input.system }),
      ...(input.description !== undefined && { description: input.description }),
      ...(input.model !== undefined && { model: input.model }),
      ...(input.tags !== undefined && { tags: input.tags }),
      ...(input.memory_blocks !== undefined && { memoryBlocks: input.memory_blocks }),
      ...(input.metadata !== undefined && { metadata: input.metadata }),
      updatedAt: now(),
    })
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)))
    .returning();
  if (!row) throw notFound(`Agent ${agentId} not found`);
  return row;
}

/** The runtime's own memory edits ("remember that …"): one block's value, nothing else. */
export async function setMemoryBlock(
  { db, now }: Pick<ServiceDeps, 'db' | 'now'>,
  args: { agentId: string; blocks: MemoryBlock[] },
): Promise<void> {
  await db
    .update(agents)
    .set({ memoryBlocks: args.blocks, updatedAt: now() })
    .where(eq(agents.id, args.agentId));
}

/** Deleting an agent takes its conversation with it (foreign keys cascade). */
export async function deleteAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string },
): Promise<void> {
  const deleted = await db
    .delete(agents)
    .where(and(eq(agents.id, args.agentId), eq(agents.organizationId, args.organizationId)))
    .returning({ id: agents.id });
  if (deleted.length === 0) throw notFound(`Agent ${args.agentId} not found`);
}
