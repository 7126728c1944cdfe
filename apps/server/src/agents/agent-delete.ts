// Deleting an agent, unless it is a web user's own.
import { and, eq } from 'drizzle-orm';
import { agentBlocks, agents, users } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { deleteUnattached } from './agent-blocks.js';

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
