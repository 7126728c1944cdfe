import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { Database } from '../db/client.js';
import { type MessageType, messages } from '../db/schema.js';
import { notFound } from '../errors.js';
import type { messageListSchema } from './message-schemas.js';
import { type LettaMessage, toLettaMessage } from './message-view.js';

/**
 * One page of the messages `scope` selects (one agent's, or an organization's), newest first
 * by default. `before`/`after` are message ids, exclusive, read in the list's own order as
 * Letta (and its SDK's auto-paging) does: in a newest-first list, `after` is older. A `before`
 * page is the `limit` messages nearest the cursor, still in the list's order. A cursor outside
 * `scope` is a 404, as if it did not exist.
 */
export async function readMessagePage(
  db: Database,
  scope: { where: SQL; name: string },
  input: z.output<typeof messageListSchema>,
): Promise<LettaMessage[]> {
  const conditions: SQL[] = [scope.where];
  const types = input.include_return_message_types;
  if (types) conditions.push(inArray(messages.messageType, types as MessageType[]));
  const cursorSeq = async (id: string, field: string) => {
    const [row] = await db
      .select({ seq: messages.seq })
      .from(messages)
      .where(and(eq(messages.id, id), scope.where));
    if (!row) throw notFound(`${field}: message ${id} not found in ${scope.name}`);
    return row.seq;
  };
  const ascending = input.order === 'asc';
  // "Later in this list" is a greater seq when ascending, a smaller one when descending.
  const laterThan = (seq: number) => (ascending ? gt(messages.seq, seq) : lt(messages.seq, seq));
  const earlierThan = (seq: number) => (ascending ? lt(messages.seq, seq) : gt(messages.seq, seq));
  if (input.after) conditions.push(laterThan(await cursorSeq(input.after, 'after')));
  if (input.before) conditions.push(earlierThan(await cursorSeq(input.before, 'before')));
  // Walking backwards from `before` finds the nearest messages; they are then put back in order.
  const backwards = Boolean(input.before) && !input.after;
  const rows = await db
    .select()
    .from(messages)
    .where(and(...conditions))
    .orderBy(ascending !== backwards ? asc(messages.seq) : desc(messages.seq))
    .limit(input.limit);
  if (backwards) rows.reverse();
  return rows.map(toLettaMessage);
}
