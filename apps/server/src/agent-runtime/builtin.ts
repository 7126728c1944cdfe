import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemoryBlock } from '../db/schema.js';
import {
  type AgentContext,
  type AgentRuntime,
  DEFAULT_CONTEXT_WINDOW,
  type HistoryMessage,
  type LlmConfig,
  type RuntimePart,
  systemWithMemory,
  type ToolSpec,
} from './runtime.js';

/** "I like tea" said to the agent is "you like tea" said back. */
const SECOND_PERSON: Record<string, string> = {
  i: 'you',
  me: 'you',
  my: 'your',
  mine: 'yours',
  myself: 'yourself',
  am: 'are',
  "i'm": "you're",
  "i've": "you've",
  "i'll": "you'll",
  "i'd": "you'd",
};

export function toSecondPerson(text: string): string {
  return text.replace(/[A-Za-z']+/g, (word) => SECOND_PERSON[word.toLowerCase()] ?? word);
}

const words = (text: string) => text.trim().split(/\s+/).filter(Boolean).length;

const facts = (block: MemoryBlock | undefined) =>
  (block?.value ?? '')
    .split('\n')
    .map((line) => line.replace(/^- /, '').trim())
    .filter(Boolean);

const NO_TOOL = (tool: string) =>
  `I cannot change my memory: the ${tool} tool is not attached to me.`;

/** A reply, or a memory tool call to make first (its result comes back as the next step). */
type Step =
  | { text: string }
  | { call: { name: 'memory_insert' | 'memory_rethink'; arguments: Record<string, unknown> } };

/**
 * A deterministic agent that needs no model, key or network: enough to show the whole system
 * working (memory that persists through the same tool calls a model makes, replies that
 * stream) on a fresh clone. It keeps what it is told in its `human` block, answers from it,
 * and echoes anything else.
 */
export function builtinStep(
  agent: AgentContext,
  history: HistoryMessage[],
  offered: readonly string[],
): Step {
  const latest = history.at(-1);
  if (latest?.role === 'tool_return') return afterTool(history, latest.content);
  const said = history.findLast((m) => m.role === 'user');
  const last = said?.role === 'user' ? said.content.trim() : '';
  const human = agent.memoryBlocks.find((b) => b.label === 'human');

  const remember = /^(?:please\s+)?remember(?:\s+that)?\s+(.+?)[.!]*$/is.exec(last);
  // Like a model, it calls only the tools it is offered: those attached to the agent.
  if (remember?.[1]) {
    if (!offered.includes('memory_insert')) return { text: NO_TOOL('memory_insert') };
    const fact = remember[1].trim();
    return { call: { name: 'memory_insert', arguments: { label: 'human', new_str: `- ${fact}` } } };
  }
  if (/^forget\s+(?:everything|all)/i.test(last)) {
    if (!offered.includes('memory_rethink')) return { text: NO_TOOL('memory_rethink') };
    return { call: { name: 'memory_rethink', arguments: { label: 'human', new_memory: '' } } };
  }
  if (/what\s+do\s+you\s+(?:know|remember)\s+about\s+me/i.test(last)) {
    const known = facts(human);
    return {
      text:
        known.length === 0
          ? "I don't know anything about you yet. Tell me with \u201cremember that \u2026\u201d."
          : `You told me that ${known.map(toSecondPerson).join('; and that ')}.`,
    };
  }
  if (/\b(?:who\s+are\s+you|your\s+name)\b/i.test(last)) {
    const persona = agent.memoryBlocks.find((b) => b.label === 'persona')?.value.trim();
    return { text: `I am ${agent.name}.${persona ? ` ${persona}` : ''}` };
  }
  return {
    text: `You said: \u201c${last}\u201d. I am the builtin demo agent; try \u201cremember that I like tea\u201d, then \u201cwhat do you know about me?\u201d.`,
  };
}

/** What the agent says once its memory tool has answered. */
function afterTool(history: HistoryMessage[], result: string): Step {
  const call = history.at(-2);
  if (result.startsWith('Error:')) {
    return {
      text: `I could not change my memory of you (${result.slice('Error: '.length)}). Say \u201cforget everything\u201d to start over.`,
    };
  }
  if (call?.role === 'tool_call' && call.name === 'memory_insert') {
    const fact = (JSON.parse(call.arguments) as { new_str: string }).new_str.replace(/^- /, '');
    return { text: `Got it. I'll remember that ${toSecondPerson(fact)}.` };
  }
  return { text: 'Done. I have forgotten everything you told me.' };
}

export class BuiltinRuntime implements AgentRuntime {
  llmConfig(): LlmConfig {
    // No model behind it, whatever the agent names; it reads the whole history window.
    return { model: 'builtin', model_endpoint_type: 'builtin', context_window: this.contextWindow };
  }

  /** `pieceDelayMs` paces the pieces so a person can see a reply stream in; tests use 0. */
  constructor(
    private readonly pieceDelayMs = 0,
    private readonly contextWindow = DEFAULT_CONTEXT_WINDOW,
  ) {}

  async *respond(
    agent: AgentContext,
    history: HistoryMessage[],
    { signal, tools }: { signal: AbortSignal; tools: ToolSpec[] },
  ): AsyncIterable<RuntimePart> {
    const step = builtinStep(
      agent,
      history,
      tools.map((t) => t.name),
    );
    if ('call' in step) {
      yield {
        type: 'tool_call',
        id: `call-${randomUUID()}`,
        name: step.call.name,
        arguments: JSON.stringify(step.call.arguments),
      };
    }
    // Word by word, keeping each word's trailing space: joined, the pieces are the reply.
    const pieces = 'text' in step ? (step.text.match(/\S+\s*/g) ?? []) : [];
    for (const text of pieces) {
      if (this.pieceDelayMs > 0) await sleep(this.pieceDelayMs, undefined, { signal });
      yield { type: 'text', text };
    }
    yield {
      type: 'usage',
      // Words, not model tokens: there is no tokenizer behind this runtime.
      promptTokens:
        words(systemWithMemory(agent)) +
        history.reduce((n, m) => n + words('content' in m ? m.content : m.arguments), 0),
      completionTokens: pieces.length,
    };
  }
}
