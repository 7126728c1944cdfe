import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { errorCodes, UNIQUE_VIOLATION } from '../db/error-code.js';
import { agentBlocks, agents, blocks, type MemoryBlock } from '../db/schema.js';
import { AppError, notFound } from '../errors.js';
import { newId } from '../lib/ids.js';
import { MEMORY_BLOCK_MAX_CHARS } from './agent-schemas.js';

/** A block as an agent holds it: its row's id, and what the agent sees. */
export type StoredBlock = MemoryBlock & { id: string };

type BlockRow = typeof blocks.$inferSelect;

export const toStoredBlock = (row: BlockRow): StoredBlock => ({
  id: row.id,
  label: row.label,
  value: row.value,
  ...(row.description !== null && { description: row.description }),
  ...(row.limit !== null && { limit: row.limit }),
  ...(row.readOnly && { read_only: true }),
});

/** The blocks of each agent, in its order, read in one query however many agents there are. */
export async function blocksOfAgents(
  db: Database,
  agentIds: string[],
): Promise<Map<string, StoredBlock[]>> {
  const byAgent = new Map<string, StoredBlock[]>(agentIds.map((id) => [id, []]));
  if (agentIds.length === 0) return byAgent;
  const rows = await db
    .select({ agentId: agentBlocks.agentId, block: blocks })
    .from(agentBlocks)
    .innerJoin(blocks, eq(blocks.id, agentBlocks.blockId))
    .where(inArray(agentBlocks.agentId, agentIds))
    .orderBy(asc(agentBlocks.agentId), asc(agentBlocks.position));
  for (const { agentId, block } of rows) byAgent.get(agentId)?.push(toStoredBlock(block));
  return byAgent;
}

/** Rows of the agents table with their blocks, as services hand agents on. */
export async function withBlocks<R extends { id: string }>(
  db: Database,
  rows: R[],
): Promise<(R & { memoryBlocks: StoredBlock[] })[]> {
  const byAgent = await blocksOfAgents(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({ ...row, memoryBlocks: byAgent.get(row.id) ?? [] }));
}

/** A label an agent already has: 409, as two blocks of one label would be ambiguous. */
export const labelTaken = (agentId: string, label: string) =>
  new AppError('CONFLICT', `Agent ${agentId} already has a block labelled ${label}`);

/** New blocks for an agent (its `memory_blocks`), appended to the ones it has, in `tx`. */
export async function addNewBlocks(
  tx: Database,
  args: { organizationId: string; agentId: string; blocks: MemoryBlock[]; now: Date },
) {
  if (args.blocks.length === 0) return;
  const { organizationId, agentId, now } = args;
  const rows = args.blocks.map((b) => ({
    id: newId('block'),
    organizationId,
    label: b.label,
    value: b.value,
    description: b.description ?? null,
    limit: b.limit ?? null,
    readOnly: b.read_only ?? false,
    createdAt: now,
    updatedAt: now,
  }));
  await tx.insert(blocks).values(rows);
  await linkBlocks(tx, {
    organizationId,
    agentId,
    links: rows.map((r) => ({ blockId: r.id, label: r.label })),
  });
}

/**
 * Attaches blocks after the agent's last one. The database refuses a block of another
 * organization (both foreign keys carry it) and a second block of one label (409).
 */
export async function linkBlocks(
  tx: Database,
  args: { organizationId: string; agentId: string; links: { blockId: string; label: string }[] },
) {
  const { organizationId, agentId } = args;
  const [last] = await tx
    .select({ position: sql<number>`coalesce(max(${agentBlocks.position}), 0)` })
    .from(agentBlocks)
    .where(eq(agentBlocks.agentId, agentId));
  const start = Number(last?.position ?? 0);
  try {
    await tx.insert(agentBlocks).values(
      args.links.map((l, i) => ({
        agentId,
        blockId: l.blockId,
        organizationId,
        label: l.label,
        position: start + i + 1,
      })),
    );
  } catch (error) {
    if (errorCodes(error).includes(UNIQUE_VIOLATION)) {
      throw labelTaken(agentId, args.links.map((l) => l.label).join(', '));
    }
    throw error;
  }
}

/** Attaches blocks of the organization by id (`block_ids`); one it does not have is a 404. */
export async function linkOrganizationBlocks(
  tx: Database,
  args: { organizationId: string; agentId: string; blockIds: string[] },
) {
  const { organizationId, agentId } = args;
  const ids = [...new Set(args.blockIds)];
  const found = await tx
    .select({ id: blocks.id, label: blocks.label })
    .from(blocks)
    .where(and(inArray(blocks.id, ids), eq(blocks.organizationId, organizationId)));
  const labels = new Map(found.map((b) => [b.id, b.label]));
  const missing = args.blockIds.findIndex((id) => !labels.has(id));
  if (missing >= 0) {
    throw notFound(`block_ids[${missing}]: block ${args.blockIds[missing]} not found`);
  }
  await linkBlocks(tx, {
    organizationId,
    agentId,
    links: ids.map((blockId) => ({ blockId, label: labels.get(blockId) ?? '' })),
  });
}

/**
 * An agent's `memory_blocks` replaced: it lets go of the blocks it had (a block another
 * agent shares stays with that agent; one left with no agent is deleted, as it was only
 * ever this agent's memory) and gets new ones.
 */
export async function replaceAgentBlocks(
  tx: Database,
  args: { organizationId: string; agentId: string; blocks: MemoryBlock[]; now: Date },
) {
  const released = await tx
    .delete(agentBlocks)
    .where(eq(agentBlocks.agentId, args.agentId))
    .returning({ blockId: agentBlocks.blockId });
  await deleteUnattached(
    tx,
    released.map((r) => r.blockId),
  );
  await addNewBlocks(tx, args);
}

/** Of these blocks, deletes those no agent holds any longer. */
export async function deleteUnattached(tx: Database, blockIds: string[]) {
  if (blockIds.length === 0) return;
  await tx
    .delete(blocks)
    .where(
      and(
        inArray(blocks.id, blockIds),
        sql`not exists (select 1 from ${agentBlocks} where ${agentBlocks.blockId} = ${blocks.id})`,
      ),
    );
}

/**
 * Changes the block an agent holds under `label` in a single UPDATE, so concurrent edits of
 * its other blocks (or of this one's other fields) are never overwritten; `null` clears a
 * field. The block's limit is checked in the same statement against the result. Undefined
 * when nothing was written: no such block, or the value would be over the limit.
 */
export async function writeAgentBlock(
  db: Database,
  now: Date,
  args: {
    agentId: string;
    organizationId?: string;
    label: string;
    change: { value?: string; description?: string | null; limit?: number | null };
  },
): Promise<StoredBlock | undefined> {
  const { agentId, label, change } = args;
  const value = change.value === undefined ? blocks.value : sql`${change.value}::text`;
  const limit = change.limit === undefined ? blocks.limit : sql`${change.limit}::integer`;
  const held = db
    .select({ id: agentBlocks.blockId })
    .from(agentBlocks)
    .where(
      and(
        eq(agentBlocks.agentId, agentId),
        eq(agentBlocks.label, label),
        args.organizationId ? eq(agentBlocks.organizationId, args.organizationId) : undefined,
      ),
    );
  const [row] = await db
    .update(blocks)
    .set({
      ...(change.value !== undefined && { value: change.value }),
      ...(change.description !== undefined && { description: change.description }),
      ...(change.limit !== undefined && { limit: change.limit }),
      updatedAt: now,
    })
    .where(
      and(
        inArray(blocks.id, held),
        sql`char_length(${value}) <= coalesce(${limit}, ${MEMORY_BLOCK_MAX_CHARS})`,
      ),
    )
    .returning();
  return row && toStoredBlock(row);
}

/**
 * The agent's own memory edit (a memory tool): `edit` gets the agent's blocks, read with
 * their rows locked for the rest of `tx`, and returns one block's new value, or throws to
 * refuse. Only that block is written, so it belongs in the transaction that stores the call.
 */
export async function editMemoryBlock(
  tx: Database,
  now: Date,
  args: { agentId: string; edit: (blocks: StoredBlock[]) => { label: string; value: string } },
): Promise<StoredBlock> {
  const [agent] = await tx
    .select({ id: agents.id })
    .from(agents)
    .where(eq(agents.id, args.agentId));
  if (!agent) throw notFound(`Agent ${args.agentId} not found`);
  const rows = await tx
    .select({ block: blocks })
    .from(agentBlocks)
    .innerJoin(blocks, eq(blocks.id, agentBlocks.blockId))
    .where(eq(agentBlocks.agentId, args.agentId))
    .orderBy(asc(agentBlocks.position))
    .for('update', { of: blocks });
  const held = rows.map((r) => toStoredBlock(r.block));
  const { label, value } = args.edit(held);
  const block = held.find((b) => b.label === label);
  if (!block) throw new Error(`editMemoryBlock: no block ${label} to write`);
  await tx.update(blocks).set({ value, updatedAt: now }).where(eq(blocks.id, block.id));
  return { ...block, value };
}
