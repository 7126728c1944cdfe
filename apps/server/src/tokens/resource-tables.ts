import { type Policy, type ResourceType, resourceIdsOf, resourceTypes } from '@scopekit/policy';
import { type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { rowsOf } from '../db/rows.js';
import { agents, clientTokenAgents } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import type { ResourceRef } from './token-issuer.js';

interface ResourceTables {
  /** The resources themselves: a token may name only its organization's. */
  rows: PgTable & { id: PgColumn; organizationId: PgColumn };
  /**
   * Which tokens name which resource, written with the token: lets "tokens for agent X" use
   * an index rather than scan policies, and goes when the resource does.
   */
  tokenIndex: PgTable & { tokenId: PgColumn; createdAt: PgColumn };
  /** The column of `tokenIndex` that holds the resource's id. */
  indexedId: PgColumn;
}

/**
 * Where each resource type of the policy lives. Keyed by every type in the policy package's
 * RESOURCE_TYPES, so a type added there fails the type check here until it has its tables.
 */
export const RESOURCE_TABLES: Record<ResourceType, ResourceTables> = {
  agent: { rows: agents, tokenIndex: clientTokenAgents, indexedId: clientTokenAgents.agentId },
};

/** The resources a policy names, grouped by type; types it does not name are left out. */
export function namedResources(policy: Policy): { type: ResourceType; ids: string[] }[] {
  return resourceTypes()
    .map((type) => ({ type, ids: resourceIdsOf(policy, type) }))
    .filter((named) => named.ids.length > 0);
}

const namedTable = (type: ResourceType) => sql.identifier(`named_${type}`);
const idList = (ids: string[]) =>
  sql.join(
    ids.map((id) => sql`(${id})`),
    sql`, `,
  );

/** `with` clauses listing the named ids of each type, as `named_<type>(id)`. */
export function namedResourcesSql(named: { type: ResourceType; ids: string[] }[]): SQL {
  return sql.join(
    named.map(({ type, ids }) => sql`${namedTable(type)}(id) as (values ${idList(ids)})`),
    sql`, `,
  );
}

/** True when every named resource is one of the organization's. */
export function allNamedExistSql(
  named: { type: ResourceType; ids: string[] }[],
  organizationId: string,
): SQL {
  return sql.join(
    named.map(({ type, ids }) => {
      const { rows } = RESOURCE_TABLES[type];
      return sql`(select count(*) from ${rows} join ${namedTable(type)} on ${namedTable(type)}.id = ${rows.id}
        where ${rows.organizationId} = ${organizationId}) = ${ids.length}`;
    }),
    sql` and `,
  );
}

/** `with` clauses writing the token (from a `token(id, created_at)` clause) into each index. */
export function tokenIndexInsertsSql(named: { type: ResourceType; ids: string[] }[]): SQL {
  return sql.join(
    named.map(({ type }) => {
      const { tokenIndex, indexedId } = RESOURCE_TABLES[type];
      const columns = [tokenIndex.tokenId, indexedId, tokenIndex.createdAt];
      return sql`${sql.identifier(`index_${type}`)} as (
        insert into ${tokenIndex} (${sql.join(
          columns.map((column) => sql.identifier(column.name)),
          sql`, `,
        )})
        select token.id, ${namedTable(type)}.id, token.created_at from token cross join ${namedTable(type)})`;
    }),
    sql`, `,
  );
}

/** Which of `resources` are the organization's; a policy may only name those. */
export async function existingResources(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; resources: ResourceRef[] },
): Promise<ResourceRef[]> {
  const found: ResourceRef[] = [];
  for (const type of resourceTypes()) {
    const ids = [...new Set(args.resources.filter((r) => r.type === type).map((r) => r.id))];
    if (ids.length === 0) continue;
    const { rows } = RESOURCE_TABLES[type];
    const result = await db.execute(sql`select ${rows.id} as id from ${rows}
      where ${rows.organizationId} = ${args.organizationId} and ${rows.id} in (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )})`);
    for (const row of rowsOf<{ id: string }>(result)) found.push({ type, id: row.id });
  }
  return found;
}
