import { and, eq, ilike, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { errorCodes, UNIQUE_VIOLATION } from '../db/error-code.js';
import { readKeysetPage } from '../db/keyset-page.js';
import { agentBlocks, blocks } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, badRequest, notFound } from '../errors.js';
import { newId } from '../lib/ids.js';
import { pageLimit } from '../lib/page-limit.js';
import { parseInput } from '../lib/parse-input.js';
import { linkBlocks, toStoredBlock } from './agent-blocks.js';
import { getAgent, requireAgent } from './agent-read.js';
import {
  type BlockCreateInput,
  blockCreateSchema,
  blockUpdateSchema,
  charCount,
  exceedsLimitMessage,
  MEMORY_BLOCK_MAX_CHARS,
} from './agent-schemas.js';
import { type AgentRow, type BlockState, toBlockState } from './agent-state.js';
import { emptyList, nullOnly } from './unsupported-fields.js';

/**
 * Letta's `BlockListParams`. Blocks are not tied to identities or templates here, so those
 * filters are refused unless empty (`templates_only` finds none).
 */
export const organizationBlockListSchema = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: pageLimit(1_000).default(50),
  order: z.enum(['asc', 'desc']).default('desc'),
  order_by: z.literal('created_at').optional(),
  label: z.string().max(50).nullable().optional(),
  label_search: z.string().max(200).nullable().optional(),
  value_search: z.string().max(200).nullable().optional(),
  description_search: z.string().max(200).nullable().optional(),
  project_id: z.string().max(200).nullable().optional(),
  templates_only: z.boolean().optional(),
  match_all_tags: z.boolean().optional(),
  name: nullOnly,
  identity_id: nullOnly,
  identifier_keys: emptyList,
  tags: emptyList,
  connected_to_agents_count_eq: emptyList,
  connected_to_agents_count_gt: nullOnly,
  connected_to_agents_count_lt: nullOnly,
});
export type OrganizationBlockListInput = z.input<typeof organizationBlockListSchema>;

const blockNotFound = (id: string) => notFound(`Block ${id} not found`);
const contains = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

export async function createBlock(
  { db, now }: Pick<ServiceDeps, 'db' | 'now'>,
  args: { organizationId: string } & BlockCreateInput,
): Promise<BlockState> {
  const { organizationId, ...body } = args;
  const input = parseInput(blockCreateSchema, body);
  const at = now();
  const [row] = await db
    .insert(blocks)
    .values({
      id: newId('block'),
      organizationId,
      label: input.label,
      value: input.value,
      description: input.description ?? null,
      limit: input.limit ?? null,
      readOnly: input.read_only ?? false,
      createdAt: at,
      updatedAt: at,
    })
    .returning();
  if (!row) throw new Error('Inserting a block returned no row');
  return toBlockState(toStoredBlock(row));
}

async function blockRow(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; blockId: string },
) {
  const [row] = await db
    .select()
    .from(blocks)
    .where(and(eq(blocks.id, args.blockId), eq(blocks.organizationId, args.organizationId)));
  if (!row) throw blockNotFound(args.blockId);
  return row;
}

export async function retrieveBlock(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; blockId: string },
): Promise<BlockState> {
  return toBlockState(toStoredBlock(await blockRow(deps, args)));
}

/** The organization's blocks, newest first by default, paged by block id. */
export async function listOrganizationBlocks(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & OrganizationBlockListInput,
): Promise<BlockState[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(organizationBlockListSchema, query);
  if (input.templates_only) return [];
  const conditions: SQL[] = [];
  if (input.label) conditions.push(eq(blocks.label, input.label));
  if (input.label_search) conditions.push(ilike(blocks.label, contains(input.label_search)));
  if (input.value_search) conditions.push(ilike(blocks.value, contains(input.value_search)));
  if (input.description_search) {
    conditions.push(ilike(blocks.description, contains(input.description_search)));
  }
  const rows = await readKeysetPage(
    db,
    blocks,
    { organizationId, name: 'block', where: conditions },
    input,
  );
  return rows.map((row) => toBlockState(toStoredBlock(row)));
}

/**
 * Letta's `blocks.update`: one statement, the limit checked against the result, so an edit
 * through any agent holding the block and this one never overwrite each other's fields. A
 * new label is taken by every agent holding the block, unless one already has that label.
 */
export async function updateBlockById(
  { db, now }: Pick<ServiceDeps, 'db' | 'now'>,
  args: { organizationId: string; blockId: string } & z.input<typeof blockUpdateSchema>,
): Promise<BlockState> {
  const { organizationId, blockId, ...body } = args;
  const input = parseInput(blockUpdateSchema, body);
  const value = input.value == null ? blocks.value : sql`${input.value}::text`;
  const limit = input.limit === undefined ? blocks.limit : sql`${input.limit}::integer`;
  try {
    const row = await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(blocks)
        .set({
          ...(input.value != null && { value: input.value }),
          ...(input.description !== undefined && { description: input.description }),
          ...(input.limit !== undefined && { limit: input.limit }),
          ...(input.label != null && { label: input.label }),
          ...(input.read_only !== undefined && { readOnly: input.read_only }),
          updatedAt: now(),
        })
        .where(
          and(
            eq(blocks.id, blockId),
            eq(blocks.organizationId, organizationId),
            sql`char_length(${value}) <= coalesce(${limit}, ${MEMORY_BLOCK_MAX_CHARS})`,
          ),
        )
        .returning();
      if (updated && input.label != null) {
        await tx
          .update(agentBlocks)
          .set({ label: input.label })
          .where(eq(agentBlocks.blockId, blockId));
      }
      return updated;
    });
    if (row) return toBlockState(toStoredBlock(row));
  } catch (error) {
    if (errorCodes(error).includes(UNIQUE_VIOLATION)) {
      throw new AppError(
        'CONFLICT',
        `label: an agent holding block ${blockId} already has a block labelled ${input.label}`,
      );
    }
    throw error;
  }
  // Nothing was written: say why, from what is there now.
  const current = await blockRow({ db }, { organizationId, blockId });
  const chars = charCount(input.value ?? current.value);
  throw badRequest(
    exceedsLimitMessage(chars, input.limit ?? current.limit ?? MEMORY_BLOCK_MAX_CHARS),
    'value',
  );
}

/** Deleting a block takes it from every agent holding it. */
export async function deleteBlock(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; blockId: string },
): Promise<void> {
  const deleted = await db
    .delete(blocks)
    .where(and(eq(blocks.id, args.blockId), eq(blocks.organizationId, args.organizationId)))
    .returning({ id: blocks.id });
  if (deleted.length === 0) throw blockNotFound(args.blockId);
}

/**
 * Attaches a block to an agent, after its other blocks; attaching it again changes nothing.
 * Both must be the organization's (the database also refuses anything else); an agent that
 * already has a block of that label is a 409.
 */
export async function attachBlock(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string; blockId: string },
): Promise<AgentRow> {
  const { organizationId, agentId, blockId } = args;
  const agent = await getAgent(deps, { organizationId, agentId });
  if (agent.memoryBlocks.some((b) => b.id === blockId)) return agent;
  const block = await blockRow(deps, { organizationId, blockId });
  if (agent.memoryBlocks.length >= 20) {
    throw badRequest(`Agent ${agentId} already has 20 blocks, the most an agent may have`);
  }
  await deps.db.transaction((tx) =>
    linkBlocks(tx, { organizationId, agentId, links: [{ blockId, label: block.label }] }),
  );
  return getAgent(deps, { organizationId, agentId });
}

/** Detaches a block from an agent; the block stays, with any other agent holding it. */
export async function detachBlock(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string; blockId: string },
): Promise<AgentRow> {
  const { organizationId, agentId, blockId } = args;
  await requireAgent(deps, { organizationId, agentId });
  await blockRow(deps, { organizationId, blockId });
  await deps.db
    .delete(agentBlocks)
    .where(and(eq(agentBlocks.agentId, agentId), eq(agentBlocks.blockId, blockId)));
  return getAgent(deps, { organizationId, agentId });
}
