import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { agentIdentities, agents, identities } from '../db/schema.js';
import { notFound } from '../errors.js';

/**
 * The agent side of identities: which identities an agent belongs to, set with the agent
 * (`identity_ids` on create and update) or one at a time (attach, detach), and the list
 * filters by identity that Letta's multi-user guide uses to find a user's agents.
 */
export async function setAgentIdentities(
  db: Database,
  args: { organizationId: string; agentId: string; identityIds: string[] },
): Promise<void> {
  const ids = [...new Set(args.identityIds)];
  if (ids.length) {
    const found = await db
      .select({ id: identities.id })
      .from(identities)
      .where(and(eq(identities.organizationId, args.organizationId), inArray(identities.id, ids)));
    const known = new Set(found.map((r) => r.id));
    const missing = ids.find((id) => !known.has(id));
    if (missing !== undefined) throw notFound(`identity_ids: identity ${missing} not found`);
  }
  await db.delete(agentIdentities).where(eq(agentIdentities.agentId, args.agentId));
  if (ids.length) {
    await db
      .insert(agentIdentities)
      .values(ids.map((identityId) => ({ agentId: args.agentId, identityId })));
  }
}

/** Links or unlinks one identity; either side of another organization is not found. */
export async function setAgentIdentity(
  db: Database,
  args: { organizationId: string; agentId: string; identityId: string; attached: boolean },
): Promise<void> {
  const [identity] = await db
    .select({ id: identities.id })
    .from(identities)
    .where(
      and(eq(identities.id, args.identityId), eq(identities.organizationId, args.organizationId)),
    );
  if (!identity) throw notFound(`Identity ${args.identityId} not found`);
  const link = { agentId: args.agentId, identityId: args.identityId };
  if (args.attached) await db.insert(agentIdentities).values(link).onConflictDoNothing();
  else
    await db
      .delete(agentIdentities)
      .where(
        and(
          eq(agentIdentities.agentId, link.agentId),
          eq(agentIdentities.identityId, link.identityId),
        ),
      );
}

/** `agents.list({ identity_id })` and `({ identifier_keys })`: agents of any of them. */
export function agentsOfIdentities(filter: {
  identity_id?: string | null | undefined;
  identifier_keys?: string[] | null | undefined;
}) {
  const conditions = [];
  if (filter.identity_id) {
    conditions.push(
      sql`exists (select 1 from ${agentIdentities} where ${agentIdentities.agentId} = ${agents.id} and ${agentIdentities.identityId} = ${filter.identity_id})`,
    );
  }
  if (filter.identifier_keys?.length) {
    conditions.push(
      sql`exists (select 1 from ${agentIdentities} join ${identities} on ${identities.id} = ${agentIdentities.identityId} where ${agentIdentities.agentId} = ${agents.id} and ${inArray(identities.identifierKey, filter.identifier_keys)})`,
    );
  }
  return conditions;
}

/** The identities of each agent, in one query, for the agents' states. */
export async function identitiesOfAgents(db: Database, agentIds: string[]) {
  if (agentIds.length === 0) return [];
  return db
    .select({ agentId: agentIdentities.agentId, identity: identities })
    .from(agentIdentities)
    .innerJoin(identities, eq(identities.id, agentIdentities.identityId))
    .where(inArray(agentIdentities.agentId, agentIds))
    .orderBy(identities.createdAt, identities.id);
}
