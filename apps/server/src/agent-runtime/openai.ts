import OpenAI from 'openai';
import { endpointModelId } from './model-handle.js';
import {
  type AgentContext,
  type AgentRuntime,
  AgentRuntimeError,
  DEFAULT_CONTEXT_WINDOW,
  type HistoryMessage,
  type LlmConfig,
  type RuntimePart,
  systemWithMemory,
  type ToolSpec,
} from './runtime.js';

export interface OpenAIRuntimeOptions {
  baseURL: string;
  apiKey: string | undefined;
  /** Used when the agent names no model of its own. */
  model: string;
  /** Stream the reply (the default); some local servers only answer whole. */
  stream: boolean;
  /**
   * Ask a streamed reply for its token usage (`stream_options.include_usage`, the default);
   * some OpenAI-compatible servers refuse the option.
   */
  streamUsage?: boolean;
  /** Tokens the model reads, as `llm_config` reports it; nothing here enforces it. */
  contextWindow?: number;
  /**
   * The client's own cap on a request: the overall turn timeout, so that only the turn's
   * deadlines (which abort the request through its signal) decide when a model is too slow.
   * Left out, the client's default (10 minutes).
   */
  timeoutMs?: number;
}

/**
 * Any OpenAI-compatible Chat Completions endpoint: OpenAI itself, Ollama, vLLM, llama.cpp,
 * LM Studio. The official `openai` client does the HTTP, SSE parsing and error typing.
 */
export class OpenAIRuntime implements AgentRuntime {
  readonly #client: OpenAI;

  llmConfig(model: string | null): LlmConfig {
    return {
      model: this.#modelId(model),
      model_endpoint_type: 'openai',
      context_window: this.options.contextWindow ?? DEFAULT_CONTEXT_WINDOW,
    };
  }

  constructor(private readonly options: OpenAIRuntimeOptions) {
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      // Local servers ignore the key, but the client insists on one.
      apiKey: options.apiKey ?? 'not-needed',
      // A turn's deadlines bound the whole call; a retry would start a second request inside
      // them, its wait counted as the model's silence. A failed call ends the turn instead.
      maxRetries: 0,
      ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    });
  }

  /** What the endpoint is asked for: the agent's model (a handle, see model-handle.ts) or the configured one. */
  #modelId(model: string | null): string {
    return model === null ? this.options.model : endpointModelId(model);
  }

  async listModelIds(signal: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    for await (const model of this.#client.models.list({ signal })) ids.push(model.id);
    return ids;
  }

  async *respond(
    agent: AgentContext,
    history: HistoryMessage[],
    { signal, tools }: { signal: AbortSignal; tools: ToolSpec[] },
  ): AsyncIterable<RuntimePart> {
    const model = this.#modelId(agent.model);
    const request = {
      model,
      messages: [
        { role: 'system' as const, content: systemWithMemory(agent) },
        ...toChatMessages(history),
      ],
      ...(tools.length > 0 && {
        tools: tools.map((t) => ({ type: 'function' as const, function: t })),
      }),
    };
    let midReply = false;
    try {
      if (!this.options.stream) {
        const completion = await this.#client.chat.completions.create(request, { signal });
        const message = completion.choices[0]?.message;
        const calls = (message?.tool_calls ?? []).flatMap((c) =>
          c.type === 'function' ? [c] : [],
        );
        if (!message || (typeof message.content !== 'string' && calls.length === 0)) {
          throw new AgentRuntimeError('The model returned no text and no tool call');
        }
        const reasoning = reasoningOf(message);
        if (reasoning) yield { type: 'reasoning', text: reasoning };
        if (message.content) yield { type: 'text', text: message.content };
        for (const c of calls) {
          yield {
            type: 'tool_call',
            id: c.id,
            name: c.function.name,
            arguments: c.function.arguments,
          };
        }
        if (completion.usage) yield usageOf(completion.usage);
        return;
      }
      const stream = await this.#client.chat.completions.create(
        {
          ...request,
          stream: true,
          ...(this.options.streamUsage !== false && { stream_options: { include_usage: true } }),
        },
        { signal },
      );
      // A call arrives in pieces, keyed by its index: the id and name first, the arguments
      // spread over many chunks. It is whole once the stream ends.
      const calls = new Map<number, { id: string; name: string; arguments: string }>();
      for await (const chunk of stream) {
        midReply = true;
        const delta = chunk.choices[0]?.delta;
        const reasoning = delta && reasoningOf(delta);
        if (reasoning) yield { type: 'reasoning', text: reasoning };
        if (delta?.content) yield { type: 'text', text: delta.content };
        for (const piece of delta?.tool_calls ?? []) {
          const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
          call.id ||= piece.id ?? '';
          call.name += piece.function?.name ?? '';
          call.arguments += piece.function?.arguments ?? '';
          calls.set(piece.index, call);
        }
        if (chunk.usage) yield usageOf(chunk.usage);
      }
      // The client ends an aborted stream quietly, as if the reply were whole: it is not.
      signal.throwIfAborted();
      for (const [index, call] of [...calls].sort(([a], [b]) => a - b)) {
        yield { type: 'tool_call', ...call, id: call.id || `call-${index}` };
      }
    } catch (error) {
      if (error instanceof AgentRuntimeError || signal.aborted) throw error;
      // Which model failed and how, so the person reading the turn's error can act on it.
      const failed = `The model API failed for model ${model}${midReply ? ' mid-reply' : ''}`;
      if (error instanceof OpenAI.APIError) {
        // The client's message already leads with the status ("404 model not found").
        throw new AgentRuntimeError(`${failed}: ${this.#withoutSecret(error.message)}`);
      }
      // A transport failure's own message ("terminated") does not say the reply was under way.
      const reason = error instanceof Error ? error.message : String(error);
      throw new AgentRuntimeError(`${failed}: ${this.#withoutSecret(reason)}`);
    }
  }

  /**
   * An endpoint may quote the key it was sent ("Incorrect API key provided: sk-…"): the
   * error goes to every client of the agent, so the key is cut out wherever it appears.
   */
  #withoutSecret(text: string): string {
    const key = this.options.apiKey;
    return key ? text.replaceAll(key, '[redacted]') : text;
  }
}

/**
 * The history as Chat Completions messages: a run of tool calls becomes one assistant
 * message with `tool_calls`, each result a `tool` message. A call or result whose partner
 * fell outside the history window is left out: the endpoint refuses an unanswered call.
 */
function toChatMessages(history: HistoryMessage[]): OpenAI.Chat.ChatCompletionMessageParam[] {
  const called = new Set(history.flatMap((m) => (m.role === 'tool_call' ? [m.toolCallId] : [])));
  const answered = new Set(
    history.flatMap((m) => (m.role === 'tool_return' ? [m.toolCallId] : [])),
  );
  const out: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  for (const m of history) {
    if (m.role === 'tool_call') {
      if (!answered.has(m.toolCallId)) continue;
      const call = {
        id: m.toolCallId,
        type: 'function' as const,
        function: { name: m.name, arguments: m.arguments },
      };
      const previous = out.at(-1);
      if (previous?.role === 'assistant' && previous.tool_calls) previous.tool_calls.push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (m.role === 'tool_return') {
      if (called.has(m.toolCallId)) {
        out.push({ role: 'tool', tool_call_id: m.toolCallId, content: m.content });
      }
    } else {
      out.push({ role: m.role, content: m.content });
    }
  }
  return out;
}

/** Reasoning as compatible servers send it: `reasoning_content` (vLLM, DeepSeek) or `reasoning`. */
function reasoningOf(message: object): string | undefined {
  const { reasoning_content, reasoning } = message as {
    reasoning_content?: unknown;
    reasoning?: unknown;
  };
  const text = reasoning_content ?? reasoning;
  return typeof text === 'string' && text !== '' ? text : undefined;
}

const usageOf = (usage: OpenAI.CompletionUsage): RuntimePart => ({
  type: 'usage',
  promptTokens: usage.prompt_tokens,
  completionTokens: usage.completion_tokens,
});
