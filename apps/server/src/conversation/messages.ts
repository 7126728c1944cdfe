import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import { getAgent } from '../agents/agents.js';
import { type MessageType, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import type { ConversationEvent } from './conversation-events.js';
import { type MessageCreate, type MessageListInput, messageListSchema } from './message-schemas.js';
import { type LettaMessage, type LettaResponse, toLettaMessage } from './message-view.js';
import { refuseResend, validateSend } from './send-checks.js';
import { runTurn } from './turn.js';

async function cursorSeq(
  deps: Pick<ServiceDeps, 'db'>,
  agentId: string,
  id: string,
  field: string,
) {
  const [row] = await deps.db
    .select({ seq: messages.seq })
    .from(messages)
    .where(and(eq(messages.id, id), eq(messages.agentId, agentId)));
  if (!row) throw notFound(`${field}: message ${id} not found in this conversation`);
  return row.seq;
}

/**
 * Newest first by default. `before`/`after` are message ids, exclusive, read in the list's own
 * order as Letta (and its SDK's auto-paging) does: in a newest-first list, `after` is older.
 * A `before` page is the `limit` messages nearest the cursor, still in the list's order.
 */
export async function listMessages(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string } & MessageListInput,
): Promise<LettaMessage[]> {
  const { organizationId, agentId, ...query } = args;
  const input = parseInput(messageListSchema, query);
  await getAgent(deps, { organizationId, agentId });
  const ascending = input.order === 'asc';
  const conditions: SQL[] = [eq(messages.agentId, agentId)];
  const types = input.include_return_message_types;
  if (types) conditions.push(inArray(messages.messageType, types as MessageType[]));
  // "Later in this list" is a greater seq when ascending, a smaller one when descending.
  const laterThan = (seq: number) => (ascending ? gt(messages.seq, seq) : lt(messages.seq, seq));
  const earlierThan = (seq: number) => (ascending ? lt(messages.seq, seq) : gt(messages.seq, seq));
  if (input.after) conditions.push(laterThan(await cursorSeq(deps, agentId, input.after, 'after')));
  if (input.before) {
    conditions.push(earlierThan(await cursorSeq(deps, agentId, input.before, 'before')));
  }
  // Walking backwards from `before` finds the nearest messages; they are then put back in order.
  const backwards = Boolean(input.before) && !input.after;
  const rows = await deps.db
    .select()
    .from(messages)
    .where(and(...conditions))
    .orderBy(ascending !== backwards ? asc(messages.seq) : desc(messages.seq))
    .limit(input.limit);
  if (backwards) rows.reverse();
  return rows.map(toLettaMessage);
}

export interface SendMessagesArgs {
  organizationId: string;
  agentId: string;
  messages: MessageCreate[];
  /** Sees every event of the turn as it happens: REST streaming writes them out. */
  onEvent?: (event: ConversationEvent) => void;
  /**
   * Called once the send has passed its checks, before it waits for the agent's turn: a
   * streaming answer opens here, so a client queued behind a long turn hears pings
   * instead of timing out and sending again.
   */
  onAccepted?: () => void;
  /** Aborts when the client has gone: a send still waiting for its turn is then given up. */
  signal?: AbortSignal;
  /** Aborts when the send may no longer run (see TurnOptions.stop): its credential ended. */
  stop?: AbortSignal;
  /** How long the send may wait for the agent (see TurnOptions.maxWaitMs). */
  maxWaitMs?: number;
}

/**
 * A send: check it, accept it, wait for the agent, run the turn (see runTurn). Turns of one
 * agent are queued, never interleaved. A failing model leaves the sent messages stored and
 * ends the turn with `llm_api_error`; a failing database fails the call.
 */
export async function sendMessages(
  deps: ServiceDeps,
  args: SendMessagesArgs,
): Promise<LettaResponse> {
  const sent = validateSend(deps, args.messages);
  const { organizationId, agentId, onEvent } = args;
  await getAgent(deps, { organizationId, agentId });
  await refuseResend(deps, agentId, sent);
  args.onAccepted?.();
  const runId = newId('run');
  return deps.turns.run(
    agentId,
    (signal) => runTurn(deps, { organizationId, agentId, runId, sent, onEvent }, signal),
    { waiting: args.signal, stop: args.stop, maxWaitMs: args.maxWaitMs, runId },
  );
}

/**
 * Stops the agent's running turn (only one of `runIds`, when given), on whichever instance
 * runs it: what the agent said so far is stored, and the turn ends as `cancelled`. Letta
 * answers with the runs it cancelled; a turn running on another instance is stopped there,
 * so only this instance's is named.
 */
export async function cancelTurn(
  deps: Pick<ServiceDeps, 'db' | 'bus' | 'turns'>,
  args: { organizationId: string; agentId: string; runIds?: string[] | null | undefined },
): Promise<Record<string, 'cancelled'>> {
  const { organizationId, agentId } = args;
  await getAgent(deps, { organizationId, agentId });
  const runIds = args.runIds ?? undefined;
  const cancelled = await deps.turns.cancelEverywhere(deps.bus, { agentId, runIds });
  return cancelled ? { [cancelled]: 'cancelled' } : {};
}
