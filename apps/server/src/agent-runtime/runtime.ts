import type { MemoryBlock } from '../db/schema.js';

/** What a runtime sees of an agent: who it is and what it remembers. */
export interface AgentContext {
  id: string;
  name: string;
  system: string;
  model: string | null;
  memoryBlocks: MemoryBlock[];
}

/**
 * The conversation so far, oldest first, ending with the message(s) to answer; within a turn,
 * then the tool calls the agent made and their results.
 */
export type HistoryMessage =
  | { role: 'user' | 'assistant' | 'system'; content: string }
  | { role: 'tool_call'; toolCallId: string; name: string; arguments: string }
  | { role: 'tool_return'; toolCallId: string; name: string; content: string };

/** A tool the agent may call: its name, what it does, and its arguments as a JSON Schema. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * What one step of the agent produces. A step ends after its tool calls: the conversation
 * service runs them and asks for the next step with their results in the history.
 */
export type RuntimePart =
  /** The next piece of the reply, in order; the pieces joined are the step's reply. */
  | { type: 'text'; text: string }
  /** The model's own reasoning, where it sends any. */
  | { type: 'reasoning'; text: string }
  /** A whole tool call; `arguments` is the model's JSON text, not yet checked. */
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'usage'; promptTokens: number; completionTokens: number };

/** Tokens a model is said to read when LLM_CONTEXT_WINDOW does not say: Letta's own default. */
export const DEFAULT_CONTEXT_WINDOW = 32_000;

/** Letta's `llm_config`, as the SDK types its required fields: which model answers an agent. */
export interface LlmConfig {
  model: string;
  model_endpoint_type: string;
  context_window: number;
}

/**
 * The one seam between the conversation service and whatever produces replies. A provider
 * only turns an agent and its history into a stream of parts; running tools, storing,
 * queuing, streaming to clients and permissions all stay in the service.
 */
export interface AgentRuntime {
  /** What answers an agent whose own model is `model` (null: the runtime's default). */
  llmConfig(model: string | null): LlmConfig;
  /**
   * The model ids the provider's endpoint offers (OpenAI's `GET /models`), for Letta's model
   * lists; left out by a runtime that has only the model `llmConfig(null)` names.
   */
  listModelIds?(signal: AbortSignal): Promise<string[]>;
  /** One step: a reply, tool calls, or both. */
  respond(
    agent: AgentContext,
    history: HistoryMessage[],
    options: { signal: AbortSignal; tools: ToolSpec[] },
  ): AsyncIterable<RuntimePart>;
}

/** The model could not answer (unreachable, refused, malformed): the turn stops with `llm_api_error`. */
export class AgentRuntimeError extends Error {
  override readonly name = 'AgentRuntimeError';
}

/** The system prompt with the memory blocks appended, as Letta lays out core memory. */
export function systemWithMemory(agent: AgentContext): string {
  if (agent.memoryBlocks.length === 0) return agent.system;
  const blocks = agent.memoryBlocks
    .map((b) => `<${b.label}>\n${b.value}\n</${b.label}>`)
    .join('\n');
  return `${agent.system}\n\n<memory_blocks>\n${blocks}\n</memory_blocks>`;
}
