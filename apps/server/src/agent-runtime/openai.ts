import OpenAI from 'openai';
import {
  type AgentContext,
  type AgentRuntime,
  AgentRuntimeError,
  DEFAULT_CONTEXT_WINDOW,
  type HistoryMessage,
  type LlmConfig,
  type RuntimePart,
  systemWithMemory,
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
      model: model ?? this.options.model,
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

  async *respond(
    agent: AgentContext,
    history: HistoryMessage[],
    { signal }: { signal: AbortSignal },
  ): AsyncIterable<RuntimePart> {
    const model = agent.model ?? this.options.model;
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: systemWithMemory(agent) },
      ...history.map((m) => ({ role: m.role, content: m.content })),
    ];
    let midReply = false;
    try {
      if (!this.options.stream) {
        const completion = await this.#client.chat.completions.create(
          { model, messages },
          { signal },
        );
        const text = completion.choices[0]?.message.content;
        if (typeof text !== 'string') throw new AgentRuntimeError('The model returned no text');
        yield { type: 'text', text };
        if (completion.usage) yield usageOf(completion.usage);
        return;
      }
      const stream = await this.#client.chat.completions.create(
        {
          model,
          messages,
          stream: true,
          ...(this.options.streamUsage !== false && { stream_options: { include_usage: true } }),
        },
        { signal },
      );
      for await (const chunk of stream) {
        midReply = true;
        const text = chunk.choices[0]?.delta?.content;
        if (text) yield { type: 'text', text };
        if (chunk.usage) yield usageOf(chunk.usage);
      }
      // The client ends an aborted stream quietly, as if the reply were whole: it is not.
      signal.throwIfAborted();
    } catch (error) {
      if (error instanceof AgentRuntimeError || signal.aborted) throw error;
      if (error instanceof OpenAI.APIError) {
        // The client's message already leads with the status ("400 model not loaded").
        throw new AgentRuntimeError(`The model API failed: ${error.message}`);
      }
      // A transport failure's own message ("terminated") does not say the reply was under way.
      throw new AgentRuntimeError(
        `The model API failed${midReply ? ' mid-reply' : ''}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

const usageOf = (usage: OpenAI.CompletionUsage): RuntimePart => ({
  type: 'usage',
  promptTokens: usage.prompt_tokens,
  completionTokens: usage.completion_tokens,
});
