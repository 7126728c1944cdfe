// Creating and changing agents: what a new agent starts with, and the fields an update sets.
import { and, eq } from 'drizzle-orm';
import { resolveModelHandle } from '../agent-runtime/model-handle.js';
import { agents, type MemoryBlock } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { setAgentIdentities } from '../identities/agent-links.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import {
  addNewBlocks,
  linkOrganizationBlocks,
  replaceAgentBlocks,
  withBlocks,
} from './agent-blocks.js';
import {
  type AgentCreateInput,
  type AgentUpdateInput,
  agentCreateSchema,
  agentUpdateSchema,
} from './agent-schemas.js';
import type { AgentRow } from './agent-state.js';
import { BASE_TOOL_NAMES, findToolById } from './tool-catalog.js';

/** What a new agent starts with when the caller says nothing: enough for the builtin runtime. */
export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Keep answers short. Use your memory blocks: `persona` is who you are, `human` is what you know about the person you talk to.';
export const DEFAULT_MEMORY_BLOCKS: MemoryBlock[] = [
  { label: 'persona', value: 'I am a friendly assistant.' },
  { label: 'human', value: '' },
];

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
