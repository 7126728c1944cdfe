import { and, asc, desc, eq, ilike, inArray, type SQL, sql } from 'drizzle-orm';
import { type LettaLlmConfig, lettaLlmConfig } from '../agent-runtime/llm-config.js';
import { resolveModelHandle } from '../agent-runtime/model-handle.js';
import { agentBlocks, agents, type MemoryBlock, users } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, badRequest, notFound } from '../errors.js';
import { agentsOfIdentities, setAgentIdentities } from '../identities/agent-links.js';
import type { IdentityState } from '../identities/identities.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import {
  addNewBlocks,
  deleteUnattached,
  linkOrganizationBlocks,
  replaceAgentBlocks,
  type StoredBlock,
  withBlocks,
  writeAgentBlock,
} from './agent-blocks.js';
import {
  type AgentCreateInput,
  type AgentListInput,
  type AgentUpdateInput,
  agentCreateSchema,
  agentListSchema,
  agentUpdateSchema,
  type BlockListInput,
  type BlockUpdateInput,
  blockListSchema,
  blockUpdateSchema,
  charCount,
  exceedsLimitMessage,
  MEMORY_BLOCK_MAX_CHARS,
} from './agent-schemas.js';
import {
  BASE_TOOL_NAMES,
  findToolById,
  findToolByName,
  type ToolState,
  toToolState,
} from './tool-catalog.js';

/** An agent's row, with the blocks it holds (their own rows, see agent-blocks.ts). */
export type AgentRow = typeof agents.$inferSelect & { memoryBlocks: StoredBlock[] };

/** What a new agent starts with when the caller says nothing: enough for the builtin runtime. */
export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Keep answers short. Use your memory blocks: `persona` is who you are, `human` is what you know about the person you talk to.';
export const DEFAULT_MEMORY_BLOCKS: MemoryBlock[] = [
  { label: 'persona', value: 'I am a friendly assistant.' },
  { label: 'human', value: '' },
];

/** Letta's `Block`, as far as this server has one: the SDK types these fields. */
export interface BlockState {
  id: string;
  label: string;
  value: string;
  limit: number;
  description: string | null;
  /** Only for the agent's own memory tools: the API may still change it. */
  read_only: boolean;
  metadata: Record<string, unknown>;
}

export function toBlockState(block: StoredBlock): BlockState {
  return {
    id: block.id,
    label: block.label,
    value: block.value,
    limit: block.limit ?? MEMORY_BLOCK_MAX_CHARS,
    description: block.description ?? null,
    read_only: block.read_only ?? false,
    metadata: {},
  };
}

/** Letta's `AgentState`, as far as this server has one: the SDK types these fields. */
export interface AgentState {
  id: string;
  name: string;
  system: string;
  description: string | null;
  tags: string[];
  model: string | null;
  memory: { blocks: BlockState[] };
  blocks: BlockState[];
  llm_config: LettaLlmConfig;
  /** Nothing here embeds: always null, as Letta's types allow. */
  embedding: null;
  embedding_config: null;
  agent_type: 'letta_v1_agent';
  tools: ToolState[];
  identities: IdentityState[];
  identity_ids: string[];
  sources: never[];
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

/**
 * `agentRuntime` says which model answers: the agent's own, or the runtime's default. The
 * identities are read beside the row (agent-state.ts reads both).
 */
export function toAgentState(
  { agentRuntime }: Pick<ServiceDeps, 'agentRuntime'>,
  row: AgentRow,
  identities: IdentityState[],
): AgentState {
  const blocks = row.memoryBlocks.map(toBlockState);
  return {
    id: row.id,
    name: row.name,
    system: row.system,
    description: row.description,
    tags: row.tags,
    model: row.model,
    memory: { blocks },
    blocks,
    llm_config: lettaLlmConfig(agentRuntime, row.model),
    embedding: null,
    embedding_config: null,
    agent_type: 'letta_v1_agent',
    tools: row.tools.flatMap((name) => {
      const tool = findToolByName(name);
      return tool ? [toToolState(tool)] : [];
    }),
    identities,
    identity_ids: identities.map((i) => i.id),
    sources: [],
    metadata: row.metadata ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Tool ids, already checked against the catalogue by the input schema, as names. */
const toolNamesOf = (ids: string[] | null | undefined) =>
  (ids ?? []).flatMap((id) => findToolById(id)?.name ?? []);

/**
 * A model named on create or update, as it is stored (see resolveModelHandle); checked
 * before anything is written. Only input naming a model needs the runtime for it.
 */
async function modelToStore(
  { agentRuntime }: Partial<Pick<ServiceDeps, 'agentRuntime'>>,
  model: string | null | undefined,
): Promise<string | null | undefined> {
  if (model == null) return model;
  if (!agentRuntime) throw new Error('Checking an agent’s model needs the agent runtime');
  return resolveModelHandle(agentRuntime, model);
}

export async function createAgent(
  deps: Pick<ServiceDeps, 'db'> & Partial<Pick<ServiceDeps, 'agentRuntime' | 'now'>>,
  args: { organizationId: string } & AgentCreateInput,
): Promise<AgentRow> {
  const { db } = deps;
  const { organizationId, ...body } = args;
  const input = parseInput(agentCreateSchema, body);
  const now = deps.now?.() ?? new Date();
  const model = await modelToStore(deps, input.model);
  const id = newId('agent');
  const insert = async (tx: typeof db) => {
    const [row] = await tx
      .insert(agents)
      .values({
        id,
        organizationId,
        name: input.name ?? `agent-${id.slice(6, 14)}`,
        system: input.system ?? DEFAULT_SYSTEM_PROMPT,
        description: input.description ?? null,
        model: model ?? null,
        tags: input.tags ?? [],
        metadata: input.metadata ?? null,
        tools: [
          ...new Set([
            ...(input.include_base_tools === false ? [] : BASE_TOOL_NAMES),
            ...(input.tools ?? []),
            ...toolNamesOf(input.tool_ids),
          ]),
        ],
      })
      .returning();
    if (!row) throw new Error('Inserting an agent returned no row');
    await addNewBlocks(tx, {
      organizationId,
      agentId: id,
      blocks: input.memory_blocks ?? DEFAULT_MEMORY_BLOCKS,
      now,
    });
    if (input.block_ids?.length) {
      await linkOrganizationBlocks(tx, { organizationId, agentId: id, blockIds: input.block_ids });
    }
    if (input.identity_ids?.length) {
      await setAgentIdentities(tx, {
        organizationId,
        agentId: id,
        identityIds: input.identity_ids,
      });
    }
    const [withMemory] = await withBlocks(tx, [row]);
    return withMemory as AgentRow;
  };
  return db.transaction(insert);
}

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

export async function updateAgent(
  deps: Pick<ServiceDeps, 'db' | 'now'> & Partial<Pick<ServiceDeps, 'agentRuntime'>>,
  args: { organizationId: string; agentId: string } & AgentUpdateInput,
): Promise<AgentRow> {
  const { db, now } = deps;
  const { organizationId, agentId, ...body } = args;
  const input = parseInput(agentUpdateSchema, body);
  const model = await modelToStore(deps, input.model);
  const update = async (tx: typeof db) => {
    const [row] = await tx
      .update(agents)
      .set({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.system !== undefined && { system: input.system }),
        ...(input.description !== undefined && { description: input.description }),
        ...(model !== undefined && { model }),
        ...(input.tags !== undefined && { tags: input.tags }),
        ...(input.metadata !== undefined && { metadata: input.metadata }),
        ...(input.tool_ids != null && { tools: [...new Set(toolNamesOf(input.tool_ids))] }),
        updatedAt: now(),
      })
      .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)))
      .returning();
    if (!row) throw notFound(`Agent ${agentId} not found`);
    if (input.identity_ids != null) {
      await setAgentIdentities(tx, { organizationId, agentId, identityIds: input.identity_ids });
    }
    if (input.memory_blocks !== undefined) {
      await replaceAgentBlocks(tx, {
        organizationId,
        agentId,
        blocks: input.memory_blocks,
        now: now(),
      });
    }
    const [withMemory] = await withBlocks(tx, [row]);
    return withMemory as AgentRow;
  };
  return input.identity_ids != null || input.memory_blocks !== undefined
    ? db.transaction(update)
    : update(db);
}

/** The blocks of an agent, paged as Letta pages them: by block id, in the agent's order. */
export async function listBlocks(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string } & BlockListInput,
): Promise<BlockState[]> {
  const { organizationId, agentId, ...query } = args;
  const input = parseInput(blockListSchema, query);
  const agent = await getAgent(deps, { organizationId, agentId });
  let blocks = agent.memoryBlocks.map(toBlockState);
  if (input.order === 'desc') blocks.reverse();
  const position = (id: string, field: string) => {
    const index = blocks.findIndex((b) => b.id === id);
    if (index < 0) throw notFound(`${field}: block ${id} not found on agent ${agentId}`);
    return index;
  };
  const start = input.after ? position(input.after, 'after') + 1 : 0;
  const end = input.before ? position(input.before, 'before') : blocks.length;
  blocks = blocks.slice(start, Math.max(start, end));
  // A `before` page is the blocks nearest the cursor, as for agents.
  if (input.limit === undefined) return blocks;
  return input.before && !input.after ? blocks.slice(-input.limit) : blocks.slice(0, input.limit);
}

export async function getBlock(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string; label: string },
): Promise<BlockState> {
  const agent = await getAgent(deps, args);
  const block = agent.memoryBlocks.find((b) => b.label === args.label);
  if (!block) throw notFound(`Block ${args.label} not found on agent ${args.agentId}`);
  return toBlockState(block);
}

/** Letta's block PATCH: value, description or limit of one block, found by its label. */
export async function updateBlock(
  deps: Pick<ServiceDeps, 'db' | 'now'>,
  args: { organizationId: string; agentId: string; blockLabel: string } & BlockUpdateInput,
): Promise<BlockState> {
  const { organizationId, agentId, blockLabel: label, ...body } = args;
  const input = parseInput(blockUpdateSchema, body);
  if (input.label != null && input.label !== label) {
    throw badRequest(`renaming a block is not supported (block ${label})`, 'label');
  }
  const change = {
    ...(input.value != null && { value: input.value }),
    ...(input.description !== undefined && { description: input.description }),
    ...(input.limit !== undefined && { limit: input.limit }),
  };
  const written = await writeAgentBlock(deps.db, deps.now(), {
    agentId,
    organizationId,
    label,
    change,
  });
  if (written) return toBlockState(written);
  // Nothing was written: say why, from what is there now.
  const current = await getBlock(deps, { organizationId, agentId, label });
  const limit = input.limit ?? current.limit;
  const value = input.value ?? current.value;
  throw badRequest(exceedsLimitMessage(charCount(value), limit), 'value');
}

/**
 * Deleting an agent takes its conversation with it (foreign keys cascade), and the blocks no
 * other agent holds.
 */
export async function deleteAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string },
): Promise<void> {
  // A web user's agent goes with its user, not on its own: the account would be left unusable.
  // Only an agent of the caller's organization is looked at: another's is simply not found.
  const [owner] = await db
    .select({ username: users.username })
    .from(users)
    .innerJoin(agents, eq(agents.id, users.agentId))
    .where(and(eq(users.agentId, args.agentId), eq(agents.organizationId, args.organizationId)));
  if (owner) {
    throw new AppError(
      'CONFLICT',
      `Agent ${args.agentId} is the agent of web user "${owner.username}" and cannot be deleted on its own`,
    );
  }
  await db.transaction(async (tx) => {
    const held = await tx
      .select({ id: agentBlocks.blockId })
      .from(agentBlocks)
      .where(eq(agentBlocks.agentId, args.agentId));
    const deleted = await tx
      .delete(agents)
      .where(and(eq(agents.id, args.agentId), eq(agents.organizationId, args.organizationId)))
      .returning({ id: agents.id });
    if (deleted.length === 0) throw notFound(`Agent ${args.agentId} not found`);
    // Its memory goes with it, but not a block another agent shares.
    await deleteUnattached(
      tx,
      held.map((h) => h.id),
    );
  });
}
