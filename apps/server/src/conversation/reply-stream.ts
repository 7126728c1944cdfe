import {
  type AgentContext,
  AgentRuntimeError,
  type HistoryMessage,
  type RuntimePart,
} from '../agent-runtime/runtime.js';
import { setMemoryBlock } from '../agents/agents.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';
import type { TurnRecord } from './turn-record.js';
import { nextPartWithin } from './turn-timeout.js';

/** What the runtime produced in a turn: the reply's id and text, its token counts, or why it failed. */
export interface ReplyOutcome {
  replyId: string;
  reply: string;
  usage: { prompt: number; completion: number };
  /** Set when the runtime failed (the model, not us): the turn ends with `llm_api_error`. */
  failure?: string;
}

/**
 * Runs the agent's runtime on the history, streaming each piece of the reply as a delta and
 * applying its memory edits as they come, within the turn's idle and overall deadlines.
 * Only the runtime's own failures end up in `failure`; ours (a delta that cannot be
 * announced, a memory write, a lost lease through `signal`) propagate.
 */
export async function streamReply(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'agentRuntime' | 'limits'>,
  record: TurnRecord,
  agent: AgentContext,
  history: HistoryMessage[],
  signal: AbortSignal,
): Promise<ReplyOutcome> {
  const outcome: ReplyOutcome = {
    replyId: newId('message'),
    reply: '',
    usage: { prompt: 0, completion: 0 },
  };
  let pieces = 0;
  const stalled = new AbortController();
  const timeouts = {
    idleMs: deps.limits.turnIdleTimeoutMs,
    totalMs: deps.limits.turnTimeoutMs,
    startedAt: Date.now(),
  };
  const parts = deps.agentRuntime
    .respond(agent, history, { signal: AbortSignal.any([signal, stalled.signal]) })
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
      } else if (part.type === 'memory') {
        await setMemoryBlock(deps, { agentId: agent.id, label: part.label, value: part.value });
      } else {
        outcome.usage.prompt += part.promptTokens;
        outcome.usage.completion += part.completionTokens;
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
}
