import {
  type AgentContext,
  AgentRuntimeError,
  type HistoryMessage,
  type RuntimePart,
  type ToolSpec,
} from '../agent-runtime/runtime.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import type { TurnRecord } from './turn-record.js';
import { nextPartWithin, type TurnTimeouts } from './turn-timeout.js';

/** What one model step produced: a reply, reasoning, tool calls, its token counts, or why it failed. */
export interface StepOutcome {
  replyId: string;
  reply: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  usage: { prompt: number; completion: number };
  /** Set when the runtime failed (the model, not us): the turn ends with `llm_api_error`. */
  failure?: string;
}

export const emptyStep = (): StepOutcome => ({
  replyId: newId('message'),
  reply: '',
  reasoning: '',
  toolCalls: [],
  usage: { prompt: 0, completion: 0 },
});

/**
 * One step of the agent: runs the runtime on the history, streaming each piece of the reply
 * as a delta, within the turn's idle and overall deadlines. It fills `outcome` as it goes, so
 * a turn cancelled mid-step still has the partial reply. Only the runtime's own failures end
 * up in `failure`; ours (a delta that cannot be announced, a lost lease or a cancel through
 * `signal`) propagate.
 */
export async function runStep(
  deps: Pick<ServiceDeps, 'agentRuntime'>,
  record: TurnRecord,
  step: { agent: AgentContext; history: HistoryMessage[]; tools: ToolSpec[] },
  timeouts: TurnTimeouts,
  signal: AbortSignal,
  outcome: StepOutcome,
): Promise<StepOutcome> {
  let pieces = 0;
  const stalled = new AbortController();
  const parts = deps.agentRuntime
    .respond(step.agent, step.history, {
      signal: AbortSignal.any([signal, stalled.signal]),
      tools: step.tools,
    })
    [Symbol.asyncIterator]();
  try {
    for (;;) {
      signal.throwIfAborted();
      let next: IteratorResult<RuntimePart>;
      try {
        next = await nextPartWithin(parts, timeouts, stalled);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        outcome.failure =
          error instanceof AgentRuntimeError
            ? error.message
            : `The agent runtime failed: ${error instanceof Error ? error.message : String(error)}`;
        return outcome;
      }
      if (next.done) return outcome;
      const part = next.value;
      if (part.type === 'text') {
        outcome.reply += part.text;
        await record.delta(outcome.replyId, pieces++, part.text);
      } else if (part.type === 'reasoning') {
        outcome.reasoning += part.text;
      } else if (part.type === 'tool_call') {
        outcome.toolCalls.push({ id: part.id, name: part.name, arguments: part.arguments });
      } else {
        outcome.usage.prompt += part.promptTokens;
        outcome.usage.completion += part.completionTokens;
      }
    }
  } finally {
    // However the step ends (done, a failed delta NOTIFY, a lost lease, a cancel), the
    // model's request ends with it: the abort closes its connection, return() runs the
    // runtime's own cleanup. Not awaited: a runtime deaf to the signal must not keep holding
    // the agent.
    stalled.abort();
    void parts.return?.().catch(() => {});
  }
}
