import { and, desc, eq, lt } from 'drizzle-orm';
import type { HistoryMessage } from '../agent-runtime/runtime.js';
import { getAgent } from '../agents/agents.js';
import { type MessageType, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import type { ConversationEvent } from './conversation-events.js';
import {
  type LettaMessage,
  type LettaResponse,
  type StopReason,
  toLettaMessage,
} from './message-view.js';
import { type ReplyOutcome, streamReply } from './reply-stream.js';
import { refuseResend, type SentMessage } from './send-checks.js';
import { TurnRecord } from './turn-record.js';

const TYPE_ROLES: Record<MessageType, HistoryMessage['role']> = {
  user_message: 'user',
  system_message: 'system',
  assistant_message: 'assistant',
};

export interface TurnArgs {
  organizationId: string;
  agentId: string;
  sent: SentMessage[];
  onEvent?: ((event: ConversationEvent) => void) | undefined;
}

/**
 * One turn, once it is the agent's: store what was sent, run the agent on the conversation,
 * store its reply, announce the stop. `signal` aborts if the turn stops being the agent's
 * (see TurnQueue); nothing is stored after that.
 */
export async function runTurn(
  deps: ServiceDeps,
  args: TurnArgs,
  signal: AbortSignal,
): Promise<LettaResponse> {
  const { organizationId, agentId, sent } = args;
  // Read inside the turn: the turn before may have changed the agent's memory, and the
  // agent may have been deleted while this send waited.
  const agent = await getAgent(deps, { organizationId, agentId });
  await refuseResend(deps, agentId, sent);
  signal.throwIfAborted();
  const record = new TurnRecord(deps, agentId, newId('run'), args.onEvent);
  const sentMessages = await record.store(
    sent.map((m) => ({
      id: newId('message'),
      messageType: m.type,
      content: m.content,
      otid: m.otid,
    })),
  );
  const history = await readHistory(deps, agentId, sentMessages);
  const outcome = await streamReply(deps, record, agent, history, signal);
  // A runtime that ignores the signal must not get its reply stored after the turn was lost.
  signal.throwIfAborted();
  const produced = await storeReply(record, outcome);
  const stopReason: StopReason = outcome.failure ? 'llm_api_error' : 'end_turn';
  await record.stop(stopReason, outcome.failure);
  return toResponse(produced, stopReason, outcome);
}

/** The window counts earlier messages: what is being sent is always seen whole. */
async function readHistory(
  deps: Pick<ServiceDeps, 'db' | 'limits'>,
  agentId: string,
  sentMessages: LettaMessage[],
): Promise<HistoryMessage[]> {
  const earlier = await deps.db
    .select()
    .from(messages)
    .where(and(eq(messages.agentId, agentId), lt(messages.seq, sentMessages[0]?.seq_id ?? 0)))
    .orderBy(desc(messages.seq))
    .limit(deps.limits.historyWindow);
  return [...earlier.reverse().map(toLettaMessage), ...sentMessages].map((m) => ({
    role: TYPE_ROLES[m.message_type],
    content: m.content,
  }));
}

/** A failed turn stores no reply, nor does a successful one that said nothing. */
async function storeReply(record: TurnRecord, outcome: ReplyOutcome): Promise<LettaMessage[]> {
  if (outcome.failure || outcome.reply === '') return [];
  return record.store([
    { id: outcome.replyId, messageType: 'assistant_message', content: outcome.reply },
  ]);
}

function toResponse(
  produced: LettaMessage[],
  stopReason: StopReason,
  { usage, failure }: ReplyOutcome,
): LettaResponse {
  return {
    messages: produced,
    stop_reason: {
      message_type: 'stop_reason',
      stop_reason: stopReason,
      ...(failure && { error: failure }),
    },
    usage: {
      message_type: 'usage_statistics',
      completion_tokens: usage.completion,
      prompt_tokens: usage.prompt,
      total_tokens: usage.prompt + usage.completion,
      step_count: 1,
    },
  };
}
