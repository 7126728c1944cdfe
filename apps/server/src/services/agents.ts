import { and, eq, inArray } from 'drizzle-orm';
import { agents } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { newId } from './ids.js';

export interface AgentSummary {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export async function createAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; name: string },
): Promise<AgentSummary> {
  const name = args.name.trim();
  if (!name || name.length > 200) throw badRequest('must be 1 to 200 characters', 'name');
  const [row] = await db
    .insert(agents)
    .values({ id: newId('agent'), organizationId: args.organizationId, name })
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

export async function getAgent(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string },
): Promise<AgentSummary> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.id, args.agentId), eq(agents.organizationId, args.organizationId)));
  if (!row) throw notFound(`Agent ${args.agentId} not found`);
  return row;
}
