import { and, eq, inArray, type SQL } from 'drizzle-orm';
import { existingAgentIds } from '../agents/agent-read.js';
import type { Database } from '../db/client.js';
import { readKeysetPage } from '../db/keyset-page.js';
import { agentIdentities, identities } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import {
  type IdentityCreateInput,
  type IdentityListInput,
  type IdentityUpdateInput,
  identityCreateSchema,
  identityListSchema,
  identityUpdateSchema,
} from './identity-schemas.js';

export type IdentityRow = typeof identities.$inferSelect;

/** Letta's `Identity`, as the SDK types it (`AgentState.identities`). */
export interface IdentityState {
  id: string;
  identifier_key: string;
  name: string;
  identity_type: IdentityRow['identityType'];
  agent_ids: string[];
  block_ids: never[];
  project_id: null;
  properties: IdentityRow['properties'];
}

type Deps = Pick<ServiceDeps, 'db' | 'now'>;

/** The identities with the agents of each, read in one query. */
export async function toIdentityStates(
  db: Database,
  rows: IdentityRow[],
): Promise<IdentityState[]> {
  const links = rows.length
    ? await db
        .select()
        .from(agentIdentities)
        .where(
          inArray(
            agentIdentities.identityId,
            rows.map((r) => r.id),
          ),
        )
    : [];
  return rows.map((row) => ({
    id: row.id,
    identifier_key: row.identifierKey,
    name: row.name,
    identity_type: row.identityType,
    agent_ids: links.filter((l) => l.identityId === row.id).map((l) => l.agentId),
    block_ids: [],
    project_id: null,
    properties: row.properties,
  }));
}

async function toIdentityState(db: Database, row: IdentityRow): Promise<IdentityState> {
  const [state] = await toIdentityStates(db, [row]);
  return state as IdentityState;
}

const keyTaken = (key: string) =>
  new AppError(
    'CONFLICT',
    `an identity with identifier_key "${key}" already exists`,
    'identifier_key',
    {
      shouldRetry: false,
    },
  );

/** Every id must be an agent of the organization: another's is as unknown as a made-up one. */
async function checkAgents(db: Database, organizationId: string, ids: string[]) {
  const found = await existingAgentIds({ db }, { organizationId, ids });
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw notFound(`agent_ids: agent ${missing} not found`);
}

/** Replaces the agents of an identity. */
async function setAgents(db: Database, identityId: string, agentIds: string[]) {
  await db.delete(agentIdentities).where(eq(agentIdentities.identityId, identityId));
  if (agentIds.length) {
    await db.insert(agentIdentities).values(agentIds.map((agentId) => ({ agentId, identityId })));
  }
}

/** The row a created or upserted identity starts as. */
function newIdentityRow(organizationId: string, input: IdentityCreateInput) {
  return {
    id: newId('identity'),
    organizationId,
    identifierKey: input.identifier_key,
    name: input.name,
    identityType: input.identity_type,
    properties: input.properties ?? [],
  };
}

export async function createIdentity(
  { db }: Deps,
  args: { organizationId: string } & IdentityCreateInput,
): Promise<IdentityState> {
  const { organizationId, ...body } = args;
  const input = parseInput(identityCreateSchema, body);
  const row = await db.transaction(async (tx) => {
    await checkAgents(tx, organizationId, input.agent_ids ?? []);
    const [inserted] = await tx
      .insert(identities)
      .values(newIdentityRow(organizationId, input))
      .onConflictDoNothing()
      .returning();
    if (!inserted) throw keyTaken(input.identifier_key);
    await setAgents(tx, inserted.id, input.agent_ids ?? []);
    return inserted;
  });
  return toIdentityState(db, row);
}

/**
 * Letta's upsert: the identity with this identifier_key, created or overwritten with what is
 * given, in one statement so two upserts of a new key cannot both create it.
 */
export async function upsertIdentity(
  { db, now }: Deps,
  args: { organizationId: string } & IdentityCreateInput,
): Promise<IdentityState> {
  const { organizationId, ...body } = args;
  const input = parseInput(identityCreateSchema, body);
  const row = await db.transaction(async (tx) => {
    await checkAgents(tx, organizationId, input.agent_ids ?? []);
    const [written] = await tx
      .insert(identities)
      .values(newIdentityRow(organizationId, input))
      .onConflictDoUpdate({
        target: [identities.organizationId, identities.identifierKey],
        set: {
          name: input.name,
          identityType: input.identity_type,
          ...(input.properties != null && { properties: input.properties }),
          updatedAt: now(),
        },
      })
      .returning();
    if (!written) throw new Error('Upserting an identity returned no row');
    if (input.agent_ids != null) await setAgents(tx, written.id, input.agent_ids);
    return written;
  });
  return toIdentityState(db, row);
}

async function identityRow(db: Database, organizationId: string, identityId: string) {
  const [row] = await db
    .select()
    .from(identities)
    .where(and(eq(identities.id, identityId), eq(identities.organizationId, organizationId)));
  if (!row) throw notFound(`Identity ${identityId} not found`);
  return row;
}

export async function getIdentity(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; identityId: string },
): Promise<IdentityState> {
  const row = await identityRow(db, args.organizationId, args.identityId);
  return toIdentityState(db, row);
}

export async function updateIdentity(
  { db, now }: Deps,
  args: { organizationId: string; identityId: string } & IdentityUpdateInput,
): Promise<IdentityState> {
  const { organizationId, identityId, ...body } = args;
  const input = parseInput(identityUpdateSchema, body);
  const row = await db.transaction(async (tx) => {
    await identityRow(tx, organizationId, identityId);
    if (input.identifier_key !== undefined) {
      const [holder] = await tx
        .select({ id: identities.id })
        .from(identities)
        .where(
          and(
            eq(identities.organizationId, organizationId),
            eq(identities.identifierKey, input.identifier_key),
          ),
        );
      if (holder && holder.id !== identityId) throw keyTaken(input.identifier_key);
    }
    await checkAgents(tx, organizationId, input.agent_ids ?? []);
    const [updated] = await tx
      .update(identities)
      .set({
        ...(input.identifier_key !== undefined && { identifierKey: input.identifier_key }),
        ...(input.name !== undefined && { name: input.name }),
        ...(input.identity_type !== undefined && { identityType: input.identity_type }),
        ...(input.properties != null && { properties: input.properties }),
        updatedAt: now(),
      })
      .where(eq(identities.id, identityId))
      .returning();
    if (!updated) throw notFound(`Identity ${identityId} not found`);
    if (input.agent_ids != null) await setAgents(tx, identityId, input.agent_ids);
    return updated;
  });
  return toIdentityState(db, row);
}

/** Deleting an identity unlinks its agents; the agents stay. */
export async function deleteIdentity(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; identityId: string },
): Promise<void> {
  const deleted = await db
    .delete(identities)
    .where(
      and(eq(identities.id, args.identityId), eq(identities.organizationId, args.organizationId)),
    )
    .returning({ id: identities.id });
  if (deleted.length === 0) throw notFound(`Identity ${args.identityId} not found`);
}

/** Identities in the order they were made, paged by id cursors as agents are. */
export async function listIdentities(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & IdentityListInput,
): Promise<IdentityState[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(identityListSchema, query);
  const conditions: SQL[] = [];
  if (input.name) conditions.push(eq(identities.name, input.name));
  if (input.identifier_key) conditions.push(eq(identities.identifierKey, input.identifier_key));
  if (input.identity_type) conditions.push(eq(identities.identityType, input.identity_type));
  const rows = await readKeysetPage(
    db,
    identities,
    { organizationId, name: 'identity', where: conditions },
    input,
  );
  return toIdentityStates(db, rows);
}
