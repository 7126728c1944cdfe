import { eq, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { nullOnly } from '../agents/unsupported-fields.js';
import { agents, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { parseInput } from '../lib/parse-input.js';
import { readMessagePage } from './message-page.js';
import { messageListSchema } from './message-schemas.js';
import type { LettaMessage } from './message-view.js';

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
  return readMessagePage(db, { where: ofOrganization, name: 'this organization' }, input);
}
