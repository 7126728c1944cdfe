import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { agents } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { badRequest, notFound } from '../errors.js';
import { pageLimit } from '../lib/page-limit.js';
import { parseInput } from '../lib/parse-input.js';
import { withBlocks } from './agent-blocks.js';
import { getAgent } from './agent-read.js';
import type { AgentRow } from './agent-state.js';
import {
  type CatalogTool,
  findToolById,
  findToolByName,
  TOOL_CATALOG,
  type ToolState,
  toolId,
  toToolState,
} from './tool-catalog.js';

/** Letta's page of a short list: an id cursor either side, a limit and an order. */
export const toolPageSchema = z.strictObject({
  after: z.string().min(1).max(200).nullable().optional(),
  before: z.string().min(1).max(200).nullable().optional(),
  limit: pageLimit(1_000).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  order_by: z.literal('created_at').optional(),
});

/** Letta's `ToolListParams`: filters over the catalogue, then a page of what is left. */
export const toolListSchema = toolPageSchema.extend({
  name: z.string().max(200).nullable().optional(),
  names: z.array(z.string().max(200)).max(100).nullable().optional(),
  tool_ids: z.array(z.string().max(200)).max(100).nullable().optional(),
  tool_types: z.array(z.string().max(100)).max(20).nullable().optional(),
  exclude_tool_types: z.array(z.string().max(100)).max(20).nullable().optional(),
  search: z.string().max(200).nullable().optional(),
  return_only_letta_tools: z.boolean().nullable().optional(),
});
export type ToolListInput = z.input<typeof toolListSchema>;
export type ToolPageInput = z.input<typeof toolPageSchema>;

/** Cuts a page out of a short list already in memory, by id cursors, as Letta pages. */
function page(
  tools: CatalogTool[],
  input: z.output<typeof toolPageSchema>,
  where: string,
): ToolState[] {
  let list = tools.map(toToolState);
  if (input.order === 'desc') list.reverse();
  const position = (id: string, field: string) => {
    const index = list.findIndex((t) => t.id === id);
    if (index < 0) throw notFound(`${field}: tool ${id} not found ${where}`);
    return index;
  };
  const start = input.after ? position(input.after, 'after') + 1 : 0;
  const end = input.before ? position(input.before, 'before') : list.length;
  list = list.slice(start, Math.max(start, end));
  if (input.limit === undefined) return list;
  return input.before && !input.after ? list.slice(-input.limit) : list.slice(0, input.limit);
}

/** Every tool this server knows, the unavailable ones marked so in `metadata_`. */
export function listTools(query: ToolListInput): ToolState[] {
  const input = parseInput(toolListSchema, query);
  const search = input.search?.toLowerCase();
  const tools = TOOL_CATALOG.filter(
    (t) =>
      (!input.name || t.name === input.name) &&
      (!input.names?.length || input.names.includes(t.name)) &&
      (!input.tool_ids?.length || input.tool_ids.includes(toolId(t.name))) &&
      (!input.tool_types?.length || input.tool_types.includes(t.toolType)) &&
      !input.exclude_tool_types?.includes(t.toolType) &&
      (!search || t.name.includes(search) || t.description.toLowerCase().includes(search)),
  );
  return page(tools, input, 'among the tools listed');
}

export function getTool(id: string): ToolState {
  const tool = findToolById(id);
  if (!tool) throw notFound(`Tool ${id} not found`);
  return toToolState(tool);
}

export async function listAgentTools(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string } & ToolPageInput,
): Promise<ToolState[]> {
  const { organizationId, agentId, ...query } = args;
  const input = parseInput(toolPageSchema, query);
  const agent = await getAgent(deps, { organizationId, agentId });
  const tools = agent.tools.flatMap((name) => findToolByName(name) ?? []);
  return page(tools, input, `on agent ${agentId}`);
}

/**
 * Attaches or detaches one tool in a single UPDATE of the agent's list, so two changes at
 * once (or an attach during another field's PATCH) never overwrite each other.
 */
export async function setAgentTool(
  { db, now }: Pick<ServiceDeps, 'db' | 'now'>,
  args: { organizationId: string; agentId: string; toolId: string; attached: boolean },
): Promise<AgentRow> {
  const tool = findToolById(args.toolId);
  if (!tool) throw notFound(`Tool ${args.toolId} not found`);
  if (args.attached && tool.unavailable) throw badRequest(`"${tool.name}" ${tool.unavailable}`);
  const without = sql`coalesce((select jsonb_agg(t) from jsonb_array_elements_text(${agents.tools}) as e(t) where t <> ${tool.name}), '[]'::jsonb)`;
  const [row] = await db
    .update(agents)
    .set({
      tools: args.attached
        ? sql`case when ${agents.tools} ? ${tool.name} then ${agents.tools} else ${agents.tools} || jsonb_build_array(${tool.name}::text) end`
        : without,
      updatedAt: now(),
    })
    .where(and(eq(agents.id, args.agentId), eq(agents.organizationId, args.organizationId)))
    .returning();
  if (!row) throw notFound(`Agent ${args.agentId} not found`);
  const [withMemory] = await withBlocks(db, [row]);
  return withMemory as AgentRow;
}
