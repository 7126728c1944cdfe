import { eq } from 'drizzle-orm';
import { requireAgent } from '../agents/agent-read.js';
import { messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import { endAbandonedRuns } from './abandoned-turns.js';
import type { ConversationEvent } from './conversation-events.js';
import { readMessagePage } from './message-page.js';
import { type MessageCreate, type MessageListInput, messageListSchema } from './message-schemas.js';
import type { LettaMessage, LettaResponse } from './message-view.js';
import { createRun, finishRun, type RunView, startRun } from './runs.js';
import {
  refuseResend,
  refuseRetriedCopy,
  type SdkRetry,
  type SentMessage,
  validateSend,
} from './send-checks.js';
import { runTurn } from './turn.js';
import { TurnCancelled } from './turn-queue.js';

/** An agent's messages, a page at a time (see `readMessagePage` for the cursors). */
export async function listMessages(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; agentId: string } & MessageListInput,
): Promise<LettaMessage[]> {
  const { organizationId, agentId, ...query } = args;
  const input = parseInput(messageListSchema, query);
  await requireAgent(deps, { organizationId, agentId });
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
  /** Set when the client says this send repeats an attempt (see refuseRetriedCopy). */
  retry?: SdkRetry | undefined;
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
  const { sent, run } = await acceptSend(deps, args, false);
  args.onAccepted?.();
  return runSend(deps, args, sent, run.id);
}

/**
 * Letta's `createAsync`: the send is checked and its run answered at once; the turn runs
 * after, as any send would. `done` settles when it has (a failure is on the run).
 */
export async function sendInBackground(
  deps: ServiceDeps,
  args: SendMessagesArgs,
): Promise<{ run: RunView; done: Promise<LettaResponse> }> {
  const { sent, run } = await acceptSend(deps, args, true);
  return { run, done: runSend(deps, args, sent, run.id) };
}

/** Checks a send and opens its run; a refused send changes nothing. */
async function acceptSend(deps: ServiceDeps, args: SendMessagesArgs, background: boolean) {
  const sent = validateSend(deps, args.messages);
  const { organizationId, agentId } = args;
  await requireAgent(deps, { organizationId, agentId });
  await refuseResend(deps, agentId, sent);
  await refuseRetriedCopy(deps, agentId, sent, args.retry);
  const run = await createRun(deps.db, {
    id: newId('run'),
    organizationId,
    agentId,
    background,
    createdAt: deps.now(),
  });
  return { sent, run };
}

async function runSend(
  deps: ServiceDeps,
  args: SendMessagesArgs,
  sent: SentMessage[],
  runId: string,
): Promise<LettaResponse> {
  const { organizationId, agentId, onEvent } = args;
  try {
    return await deps.turns.run(
      agentId,
      async (signal, { tookOver }) => {
        // A turn left running by an instance that died ends, for its listeners, before this one starts.
        if (tookOver) await endAbandonedRuns(deps, agentId);
        await startRun(deps.db, runId);
        return runTurn(
          deps,
          { organizationId, agentId, runId, sent, onEvent, retry: args.retry },
          signal,
        );
      },
      { waiting: args.signal, stop: args.stop, maxWaitMs: args.maxWaitMs, runId },
    );
  } catch (error) {
    if (error instanceof TurnCancelled) {
      // Cancelled while it waited: nothing was stored, and the send ends as cancelled.
      await finishRun(deps.db, runId, 'cancelled', deps.now());
      return {
        messages: [],
        stop_reason: { message_type: 'stop_reason', stop_reason: 'cancelled' },
        usage: {
          message_type: 'usage_statistics',
          completion_tokens: 0,
          prompt_tokens: 0,
          total_tokens: 0,
          step_count: 0,
        },
      };
    }
    // The turn ended without a stop reason (given up, busy, its agent deleted, the database
    // gone): the run says it failed, where it still can.
    await finishRun(deps.db, runId, 'error', deps.now()).catch(() => {});
    throw error;
  }
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
  await requireAgent(deps, { organizationId, agentId });
  const runIds = args.runIds ?? undefined;
  // Runs named while still queued here are dropped before they start (other instances drop
  // theirs when the notice reaches them).
  const dropped = runIds ? deps.turns.cancelQueued(agentId, runIds) : [];
  const cancelled = await deps.turns.cancelEverywhere(deps.bus, { agentId, runIds });
  const runs = cancelled ? [cancelled, ...dropped] : dropped;
  return Object.fromEntries(runs.map((runId) => [runId, 'cancelled' as const]));
}
