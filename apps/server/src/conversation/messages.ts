import { eq } from 'drizzle-orm';
import { getAgent } from '../agents/agents.js';
import { messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import type { ConversationEvent } from './conversation-events.js';
import { readMessagePage } from './message-page.js';
import { type MessageCreate, type MessageListInput, messageListSchema } from './message-schemas.js';
import type { LettaMessage, LettaResponse } from './message-view.js';
import { refuseResend, validateSend } from './send-checks.js';
import { runTurn } from './turn.js';

/** An agent's messages, a page at a time (see `readMessagePage` for the cursors). */
export async function listMessages(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string } & MessageListInput,
): Promise<LettaMessage[]> {
  const { organizationId, agentId, ...query } = args;
  const input = parseInput(messageListSchema, query);
  await getAgent(deps, { organizationId, agentId });
  return readMessagePage(
    deps.db,
    { where: eq(messages.agentId, agentId), name: 'this conversation' },
    input,
  );
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
