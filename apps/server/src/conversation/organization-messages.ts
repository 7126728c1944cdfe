import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import { nullOnly } from '../agents/unsupported-fields.js';
import { agents, type MessageType, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { parseInput } from '../lib/parse-input.js';
import { messageListSchema } from './message-schemas.js';
import { type LettaMessage, toLettaMessage } from './message-view.js';

/** Letta's `MessageListParams` for `/v1/messages`: an agent's list, minus the agent. */
export const organizationMessageListSchema = messageListSchema.extend({
  /** Letta's conversations within an agent; this server has one per agent. */
  conversation_id: nullOnly,
});
export type OrganizationMessageListInput = z.input<typeof organizationMessageListSchema>;

/**
 * Every agent's messages in the organization, newest first by default, paged by message id
 * as an agent's own list is (messages' `seq` orders them across agents too).
 */
export async function listOrganizationMessages(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & OrganizationMessageListInput,
): Promise<LettaMessage[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(organizationMessageListSchema, query);
  const ofOrganization = inArray(
    messages.agentId,
    db.select({ id: agents.id }).from(agents).where(eq(agents.organizationId, organizationId)),
  );
  const conditions: SQL[] = [ofOrganization];
  const types = input.include_return_message_types;
  if (types) conditions.push(inArray(messages.messageType, types as MessageType[]));
  const cursor = async (id: string, field: string) => {
    const [row] = await db
      .select({ seq: messages.seq })
      .from(messages)
      .where(and(eq(messages.id, id), ofOrganization));
    if (!row) throw notFound(`${field}: message ${id} not found`);
    return row.seq;
  };
  const ascending = input.order === 'asc';
  const later = (seq: number) => (ascending ? gt(messages.seq, seq) : lt(messages.seq, seq));
  const earlier = (seq: number) => (ascending ? lt(messages.seq, seq) : gt(messages.seq, seq));
  if (input.after) conditions.push(later(await cursor(input.after, 'after')));
  if (input.before) conditions.push(earlier(await cursor(input.before, 'before')));
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
