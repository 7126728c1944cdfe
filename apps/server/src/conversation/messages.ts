import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import {
  AgentRuntimeError,
  type HistoryMessage,
  type RuntimePart,
} from '../agent-runtime/runtime.js';
import { getAgent, setMemoryBlock } from '../agents/agents.js';
import { type MessageType, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { newId } from '../lib/ids.js';
import { parseInput } from '../lib/parse-input.js';
import {
  type ConversationEvent,
  publishConversationEvent,
  storeAndAnnounce,
} from './conversation-events.js';
import {
  type MessageCreate,
  type MessageListInput,
  messageListSchema,
  sendSchema,
} from './message-schemas.js';
import {
  type LettaMessage,
  type LettaResponse,
  type StopReason,
  toLettaMessage,
} from './message-view.js';
import { nextPartWithin } from './turn-timeout.js';

const ROLE_TYPES: Record<MessageCreate['role'] & string, MessageType> = {
  user: 'user_message',
  system: 'system_message',
  assistant: 'assistant_message',
};
const TYPE_ROLES: Record<MessageType, HistoryMessage['role']> = {
  user_message: 'user',
  system_message: 'system',
  assistant_message: 'assistant',
};

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

function contentText(content: MessageCreate['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
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
}

/** Checks what is sent before anything is stored or queued: a refused send changes nothing. */
function validateSend(deps: Pick<ServiceDeps, 'limits'>, sent: MessageCreate[]) {
  const input = parseInput(sendSchema, { messages: sent });
  const max = deps.limits.messageMaxBytes;
  const otids = new Set<string>();
  return input.messages.map((m, i) => {
    if (m.otid) {
      if (otids.has(m.otid)) {
        throw new AppError(
          'BAD_REQUEST',
          'is given to two messages of this send',
          `messages.${i}.otid`,
        );
      }
      otids.add(m.otid);
    }
    const text = contentText(m.content);
    if (text.trim() === '')
      throw new AppError('BAD_REQUEST', 'must not be empty', `messages.${i}.content`);
    const bytes = Buffer.byteLength(text);
    if (bytes > max) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `is ${bytes} bytes; at most ${max} are allowed`,
        `messages.${i}.content`,
      );
    }
    return { type: ROLE_TYPES[m.role], content: text, otid: m.otid ?? null };
  });
}

/**
 * A client that resends a message with the same `otid` (the SDK retrying a send whose answer
 * it did not get) has it refused, not stored twice. Checked before the send is accepted, so
 * a streaming resend is refused before its stream opens, and again inside the agent's turn,
 * so two sends of the same message racing each other cannot both pass.
 */
async function refuseResend(
  deps: Pick<ServiceDeps, 'db'>,
  agentId: string,
  sent: { otid: string | null }[],
) {
  const otids = sent.flatMap((m) => (m.otid ? [m.otid] : []));
  if (otids.length === 0) return;
  const [earlier] = await deps.db
    .select({ id: messages.id, otid: messages.otid })
    .from(messages)
    .where(and(eq(messages.agentId, agentId), inArray(messages.otid, otids)))
    .limit(1);
  if (earlier) {
    const index = sent.findIndex((m) => m.otid === earlier.otid);
    throw new AppError(
      'CONFLICT',
      `was already sent to this agent (stored as ${earlier.id}); it is not stored twice`,
      `messages.${index}.otid`,
      { shouldRetry: false },
    );
  }
}

/**
 * One turn: store what was sent, run the agent on the conversation, store its reply. Turns of
 * one agent are queued, never interleaved. A failing model leaves the sent messages stored and
 * ends the turn with `llm_api_error`; a failing database fails the call.
 */
export async function sendMessages(
  deps: ServiceDeps,
  args: SendMessagesArgs,
): Promise<LettaResponse> {
  const sent = validateSend(deps, args.messages);
  const { organizationId, agentId } = args;
  await getAgent(deps, { organizationId, agentId });
  await refuseResend(deps, agentId, sent);
  args.onAccepted?.();
  const runId = newId('run');
  const emit = async (event: ConversationEvent) => {
    args.onEvent?.(event);
    await publishConversationEvent(deps.bus, agentId, event);
  };
  const store = async (values: Parameters<typeof storeAndAnnounce>[2]) => {
    const stored = await storeAndAnnounce(deps, agentId, values);
    for (const message of stored) args.onEvent?.({ type: 'message', message });
    return stored;
  };

  // The signal aborts if this instance loses the agent's turn lease (see TurnQueue).
  const turn = async (signal: AbortSignal): Promise<LettaResponse> => {
    // Read inside the turn: the turn before may have changed the agent's memory, and the
    // agent may have been deleted while this send waited.
    const agent = await getAgent(deps, { organizationId, agentId });
    await refuseResend(deps, agentId, sent);
    const sentMessages = await store(
      sent.map((m) => ({
        id: newId('message'),
        agentId,
        runId,
        messageType: m.type,
        content: m.content,
        otid: m.otid,
      })),
    );
    let lastSeq = sentMessages.at(-1)?.seq_id ?? 0;

    // The window counts earlier messages: what is being sent is always seen whole.
    const earlier = await deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.agentId, agentId), lt(messages.seq, sentMessages[0]?.seq_id ?? 0)))
      .orderBy(desc(messages.seq))
      .limit(deps.limits.historyWindow);
    const history = [...earlier.reverse().map(toLettaMessage), ...sentMessages];

    const replyId = newId('message');
    let reply = '';
    let pieces = 0;
    const usage = { prompt: 0, completion: 0 };
    let failure: string | undefined;
    const stalled = new AbortController();
    const timeouts = {
      idleMs: deps.limits.turnIdleTimeoutMs,
      totalMs: deps.limits.turnTimeoutMs,
      startedAt: Date.now(),
    };
    const parts = deps.agentRuntime
      .respond(
        {
          id: agent.id,
          name: agent.name,
          system: agent.system,
          model: agent.model,
          memoryBlocks: agent.memoryBlocks,
        },
        history.map((m) => ({ role: TYPE_ROLES[m.message_type], content: m.content })),
        { signal: AbortSignal.any([signal, stalled.signal]) },
      )
      [Symbol.asyncIterator]();
    try {
      for (;;) {
        signal.throwIfAborted();
        let next: IteratorResult<RuntimePart>;
        // Only the runtime's own failures end the turn with llm_api_error; ours propagate.
        try {
          next = await nextPartWithin(parts, timeouts, stalled);
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          failure =
            error instanceof AgentRuntimeError
              ? error.message
              : `The agent runtime failed: ${error instanceof Error ? error.message : String(error)}`;
          break;
        }
        if (next.done) break;
        const part = next.value;
        if (part.type === 'text') {
          reply += part.text;
          await emit({
            type: 'delta',
            messageId: replyId,
            runId,
            text: part.text,
            index: pieces++,
            afterSeq: lastSeq,
          });
        } else if (part.type === 'memory') {
          await setMemoryBlock(deps, { agentId, label: part.label, value: part.value });
        } else {
          usage.prompt += part.promptTokens;
          usage.completion += part.completionTokens;
        }
      }
    } finally {
      // However the turn ends (the reply done, a failed delta NOTIFY or memory write, a lost
      // lease), the model's request ends with it: the abort closes its connection, return()
      // runs the runtime's own cleanup. Not awaited: a runtime deaf to the signal must not
      // keep holding the agent.
      stalled.abort();
      void parts.return?.().catch(() => {});
    }

    // A runtime that ignores the signal must not get its reply stored after the turn was lost.
    signal.throwIfAborted();
    const produced: LettaMessage[] = [];
    if (!failure && reply !== '') {
      const stored = await store([
        { id: replyId, agentId, runId, messageType: 'assistant_message', content: reply },
      ]);
      produced.push(...stored);
      lastSeq = stored.at(-1)?.seq_id ?? lastSeq;
    }
    const stopReason: StopReason = failure ? 'llm_api_error' : 'end_turn';
    await emit({
      type: 'stop',
      runId,
      stopReason,
      afterSeq: lastSeq,
      ...(failure && { error: failure }),
    });
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
  };
  return deps.turns.run(agentId, turn, args.signal);
}
