import { and, desc, eq, lt, ne } from 'drizzle-orm';
import type { HistoryMessage } from '../agent-runtime/runtime.js';
import { getAgent } from '../agents/agent-read.js';
import { messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import type { ConversationEvent } from './conversation-events.js';
import { offeredTools, runTool } from './memory-tools.js';
import {
  type LettaMessage,
  type LettaResponse,
  type StopReason,
  toLettaMessage,
} from './message-view.js';
import { refuseResend, refuseRetriedCopy, type SdkRetry, type SentMessage } from './send-checks.js';
import { emptyStep, runStep, type StepOutcome } from './step.js';
import { TurnCancelled } from './turn-queue.js';
import { TurnRecord } from './turn-record.js';

export interface TurnArgs {
  organizationId: string;
  agentId: string;
  runId: string;
  sent: SentMessage[];
  onEvent?: ((event: ConversationEvent) => void) | undefined;
  retry?: SdkRetry | undefined;
}

interface TurnEnd {
  stopReason: StopReason;
  error?: string;
}

/**
 * One turn, once it is the agent's: store what was sent, then run the agent step by step,
 * each step's reply and tool calls stored as they end and each tool's result read by the
 * next step, until the agent answers without calling a tool (or fails, runs out of steps or
 * is cancelled); then announce the stop. `signal` aborts if the turn stops being the agent's
 * (see TurnQueue: nothing is stored after that) or is cancelled (what was said so far is kept).
 */
export async function runTurn(
  deps: ServiceDeps,
  args: TurnArgs,
  signal: AbortSignal,
): Promise<LettaResponse> {
  const { organizationId, agentId, sent } = args;
  // Read inside the turn: the turn before may have changed the agent's memory, and the
  // agent may have been deleted while this send waited.
  let agent = await getAgent(deps, { organizationId, agentId });
  await refuseResend(deps, agentId, sent);
  await refuseRetriedCopy(deps, agentId, sent, args.retry);
  signal.throwIfAborted();
  const record = new TurnRecord(deps, agentId, args.runId, args.onEvent);
  const sentMessages = await record.store(
    sent.map((m) => ({
      id: newId('message'),
      messageType: m.type,
      content: m.content,
      otid: m.otid,
    })),
  );
  const history = await readHistory(deps, agentId, sentMessages);
  const produced: LettaMessage[] = [];
  const usage = { prompt: 0, completion: 0 };
  // The overall deadline is the whole turn's, across its steps.
  const timeouts = {
    idleMs: deps.limits.turnIdleTimeoutMs,
    totalMs: deps.limits.turnTimeoutMs,
    startedAt: Date.now(),
  };
  const maxSteps = deps.limits.turnMaxSteps;
  let steps = 0;
  let end: TurnEnd | undefined;
  while (!end) {
    if (steps === maxSteps) {
      end = {
        stopReason: 'max_steps',
        error: `The agent was still calling tools after ${maxSteps} steps; the turn was stopped`,
      };
      break;
    }
    steps += 1;
    const step = emptyStep();
    try {
      // The tools as attached now: a tool attached or detached mid-turn counts from the next step.
      const tools = offeredTools(agent.tools);
      await runStep(deps, record, { agent, history, tools }, timeouts, signal, step);
    } catch (error) {
      if (!(signal.reason instanceof TurnCancelled)) throw error;
      // Cancelled: the reply so far is settled as it stands.
      produced.push(...(await storeStep(record, step)));
      end = { stopReason: 'cancelled' };
      break;
    }
    usage.prompt += step.usage.prompt;
    usage.completion += step.usage.completion;
    // A runtime that ignores the signal must not get its reply stored after the turn was lost.
    signal.throwIfAborted();
    if (step.failure) {
      end = { stopReason: 'llm_api_error', error: step.failure };
      break;
    }
    produced.push(...(await storeStep(record, step)));
    if (step.toolCalls.length === 0) {
      end = { stopReason: 'end_turn' };
      break;
    }
    for (const call of step.toolCalls) {
      if (signal.aborted) break;
      const { stored, result } = await recordToolCall(deps, record, call);
      produced.push(...stored);
      history.push(
        { role: 'tool_call', toolCallId: call.id, name: call.name, arguments: call.arguments },
        { role: 'tool_return', toolCallId: call.id, name: call.name, content: result },
      );
    }
    if (signal.aborted) {
      if (!(signal.reason instanceof TurnCancelled)) throw signal.reason;
      end = { stopReason: 'cancelled' };
      break;
    }
    // The next step sees the memory as the tools left it.
    agent = await getAgent(deps, { organizationId, agentId });
  }
  await record.stop(end.stopReason, end.error);
  return toResponse(produced, end, usage, steps);
}

/**
 * The window counts earlier messages: what is being sent is always seen whole. Reasoning is
 * the model's own scratch work and is not read back.
 */
async function readHistory(
  deps: Pick<ServiceDeps, 'db' | 'limits'>,
  agentId: string,
  sentMessages: LettaMessage[],
): Promise<HistoryMessage[]> {
  const earlier = await deps.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.agentId, agentId),
        lt(messages.seq, sentMessages[0]?.seq_id ?? 0),
        ne(messages.messageType, 'reasoning_message'),
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(deps.limits.historyWindow);
  return [...earlier.reverse().map(toLettaMessage), ...sentMessages].flatMap(toHistory);
}

function toHistory(m: LettaMessage): HistoryMessage[] {
  switch (m.message_type) {
    case 'user_message':
      return [{ role: 'user', content: m.content }];
    case 'assistant_message':
      return [{ role: 'assistant', content: m.content }];
    case 'system_message':
      return [{ role: 'system', content: m.content }];
    case 'tool_call_message':
      return [
        {
          role: 'tool_call',
          toolCallId: m.tool_call.tool_call_id,
          name: m.tool_call.name,
          arguments: m.tool_call.arguments,
        },
      ];
    case 'tool_return_message':
      return [
        { role: 'tool_return', toolCallId: m.tool_call_id, name: m.name, content: m.tool_return },
      ];
    case 'reasoning_message':
      return [];
  }
}

/** A step's reasoning and reply, each stored if it said anything. */
async function storeStep(record: TurnRecord, step: StepOutcome): Promise<LettaMessage[]> {
  const values = [];
  if (step.reasoning !== '') {
    values.push({
      id: newId('message'),
      messageType: 'reasoning_message' as const,
      content: step.reasoning,
    });
  }
  if (step.reply !== '') {
    values.push({
      id: step.replyId,
      messageType: 'assistant_message' as const,
      content: step.reply,
    });
  }
  return values.length === 0 ? [] : record.store(values);
}

/** Runs the tool in the transaction that stores its call and its result. */
async function recordToolCall(
  deps: Pick<ServiceDeps, 'now'>,
  record: TurnRecord,
  call: StepOutcome['toolCalls'][number],
): Promise<{ stored: LettaMessage[]; result: string }> {
  let result = '';
  const stored = await record.store(async (tx) => {
    const outcome = await runTool(tx, deps.now(), record.agentId, call);
    result = outcome.result;
    return [
      {
        id: newId('message'),
        messageType: 'tool_call_message',
        content: call.arguments,
        tool: { toolCallId: call.id, name: call.name },
      },
      {
        id: newId('message'),
        messageType: 'tool_return_message',
        content: outcome.result,
        tool: { toolCallId: call.id, name: call.name, status: outcome.status },
      },
    ];
  });
  return { stored, result };
}

function toResponse(
  produced: LettaMessage[],
  end: TurnEnd,
  usage: { prompt: number; completion: number },
  steps: number,
): LettaResponse {
  return {
    messages: produced,
    stop_reason: {
      message_type: 'stop_reason',
      stop_reason: end.stopReason,
      ...(end.error && { error: end.error }),
    },
    usage: {
      message_type: 'usage_statistics',
      completion_tokens: usage.completion,
      prompt_tokens: usage.prompt,
      total_tokens: usage.prompt + usage.completion,
      step_count: steps,
    },
  };
}
