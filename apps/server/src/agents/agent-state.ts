// What an agent and its blocks are as Letta shows them (AgentState, Block), made from their rows.
import { type LettaLlmConfig, lettaLlmConfig } from '../agent-runtime/llm-config.js';
import type { agents } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { identitiesOfAgents } from '../identities/agent-links.js';
import { type IdentityState, toIdentityStates } from '../identities/identities.js';
import type { StoredBlock } from './agent-blocks.js';
import { MEMORY_BLOCK_MAX_CHARS } from './agent-schemas.js';
import { findToolByName, type ToolState, toToolState } from './tool-catalog.js';

/** An agent's row, with the blocks it holds (their own rows, see agent-blocks.ts). */
export type AgentRow = typeof agents.$inferSelect & { memoryBlocks: StoredBlock[] };

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

/**
 * Agents as Letta shows them, with what is kept beside their rows (their identities), read
 * in two queries however many agents there are.
 */
export async function agentStates(
  deps: Pick<ServiceDeps, 'db' | 'agentRuntime'>,
  rows: AgentRow[],
): Promise<AgentState[]> {
  const links = await identitiesOfAgents(
    deps.db,
    rows.map((r) => r.id),
  );
  const distinct = [...new Map(links.map((l) => [l.identity.id, l.identity])).values()];
  const states = new Map((await toIdentityStates(deps.db, distinct)).map((i) => [i.id, i]));
  return rows.map((row) =>
    toAgentState(
      deps,
      row,
      links.flatMap((l) => (l.agentId === row.id ? (states.get(l.identity.id) ?? []) : [])),
    ),
  );
}

export async function agentState(
  deps: Pick<ServiceDeps, 'db' | 'agentRuntime'>,
  row: AgentRow,
): Promise<AgentState> {
  const [state] = await agentStates(deps, [row]);
  return state as AgentState;
}
