import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf } from '../db/rows.js';
import type { ServiceDeps } from '../deps.js';
import { pageLimit } from '../lib/page-limit.js';
import { parseInput } from '../lib/parse-input.js';

/**
 * Letta's `TagListParams`: the organization's agent tags, alphabetically, paged by tag.
 * `query_text` is Letta's older name for `name`; both match part of a tag, any case.
 */
export const tagListSchema = z.strictObject({
  after: z.string().max(100).nullable().optional(),
  before: z.string().max(100).nullable().optional(),
  limit: pageLimit(1_000).default(50),
  name: z.string().max(100).nullable().optional(),
  query_text: z.string().max(100).nullable().optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  order_by: z.literal('name').optional(),
});
export type TagListInput = z.input<typeof tagListSchema>;

export async function listTags(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & TagListInput,
): Promise<string[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(tagListSchema, query);
  const part = input.name ?? input.query_text;
  const descending = input.order === 'desc';
  const backwards = Boolean(input.before) && !input.after;
  const conditions = [sql`a.organization_id = ${organizationId}`];
  if (part) conditions.push(sql`t.tag ilike ${`%${part.replace(/[\\%_]/g, '\\$&')}%`}`);
  // Byte order ("C"), so the cursors compare as the list is sorted whatever the locale.
  const tag = sql`t.tag collate "C"`;
  if (input.after)
    conditions.push(descending ? sql`${tag} < ${input.after}` : sql`${tag} > ${input.after}`);
  if (input.before)
    conditions.push(descending ? sql`${tag} > ${input.before}` : sql`${tag} < ${input.before}`);
  const direction = descending !== backwards ? sql`desc` : sql`asc`;
  const result = await db.execute(
    sql`select distinct ${tag} as tag from agents a, jsonb_array_elements_text(a.tags) as t(tag)
        where ${sql.join(conditions, sql` and `)}
        order by 1 ${direction} limit ${input.limit}`,
  );
  const list = rowsOf<{ tag: string }>(result).map((r) => r.tag);
  return backwards ? list.reverse() : list;
}
