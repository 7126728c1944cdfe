import { and, asc, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { notFound } from '../errors.js';
import type { Database } from './client.js';

/** A table an organization's rows are listed from, in (created_at, id) order. */
type PagedTable = PgTable & { id: PgColumn; createdAt: PgColumn; organizationId: PgColumn };

/** Letta's page query: id cursors, exclusive, read in the list's own order. */
export interface KeysetQuery {
  after?: string | null | undefined;
  before?: string | null | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

/**
 * One page of the organization's rows of `table` that `where` selects, ordered by
 * (created_at, id) so rows of one instant stay stable. In a newest-first list `after` is
 * older, as Letta's SDK auto-paging reads it; a `before` page is the rows nearest the
 * cursor, still in the list's order. A cursor that is not the organization's is a 404 naming
 * the field (`after: block x not found`), as if it did not exist.
 */
export async function readKeysetPage<T extends PagedTable>(
  db: Database,
  table: T,
  scope: { organizationId: string; name: string; where: (SQL | undefined)[] },
  input: KeysetQuery,
): Promise<T['$inferSelect'][]> {
  const inOrganization = eq(table.organizationId, scope.organizationId);
  const conditions = [inOrganization, ...scope.where];
  // The cursor's place is compared in the database: read into a Date, its microseconds
  // would be lost, and a page after it would start with the cursor itself again.
  const cursor = async (id: string, field: string) => {
    const [row] = await db
      .select({ id: table.id })
      .from(table as PgTable)
      .where(and(eq(table.id, id), inOrganization));
    if (!row) throw notFound(`${field}: ${scope.name} ${id} not found`);
    return sql`(select c.created_at, c.id from ${table} c where c.id = ${id})`;
  };
  const place = sql`(${table.createdAt}, ${table.id})`;
  const descending = input.order === 'desc';
  if (input.after) {
    const c = await cursor(input.after, 'after');
    conditions.push(descending ? sql`${place} < ${c}` : sql`${place} > ${c}`);
  }
  if (input.before) {
    const c = await cursor(input.before, 'before');
    conditions.push(descending ? sql`${place} > ${c}` : sql`${place} < ${c}`);
  }
  // Walking backwards from `before` finds the nearest rows; they are then put back in order.
  const backwards = Boolean(input.before) && !input.after;
  const direction = descending !== backwards ? desc : asc;
  const rows = (await db
    .select()
    .from(table as PgTable)
    .where(and(...conditions))
    .orderBy(direction(table.createdAt), direction(table.id))
    .limit(input.limit)) as T['$inferSelect'][];
  if (backwards) rows.reverse();
  return rows;
}
