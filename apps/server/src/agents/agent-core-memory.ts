// One agent's blocks by label, as Letta's /agents/{id}/core-memory/blocks serves them. (Blocks
// as shared rows of their own, /v1/blocks, are in blocks.ts.)
import type { ServiceDeps } from '../deps.js';
import { badRequest, notFound } from '../errors.js';
import { parseInput } from '../lib/parse-input.js';
import { writeAgentBlock } from './agent-blocks.js';
import { getAgent } from './agent-read.js';
import {
  type BlockListInput,
  type BlockUpdateInput,
  blockListSchema,
  blockUpdateSchema,
  charCount,
  exceedsLimitMessage,
} from './agent-schemas.js';
import { type BlockState, toBlockState } from './agent-state.js';

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
