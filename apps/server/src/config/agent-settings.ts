// The agent runtime: which model provider answers (the builtin one or an OpenAI-compatible
// endpoint), and how it is called.
import { z } from 'zod';
import { DEFAULT_CONTEXT_WINDOW } from '../agent-runtime/runtime.js';
import { StartRefusal } from '../start-refusal.js';

export const agentSettings = z.object({
  /** `builtin` needs nothing; `openai` is any OpenAI-compatible Chat Completions endpoint. */
  SCOPEKIT_AGENT_PROVIDER: z.enum(['builtin', 'openai']).default('builtin'),
  /** Pause between the builtin agent's words, so a person sees the reply stream in. */
  SCOPEKIT_BUILTIN_DELAY_MS: z.coerce.number().int().min(0).max(5_000).default(30),
  LLM_BASE_URL: z.url().optional(),
  LLM_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().min(1).optional(),
  LLM_STREAM: z.stringbool().default(true),
  /** Ask a streamed reply for its usage; `false` for servers that refuse `stream_options`. */
  LLM_STREAM_USAGE: z.stringbool().default(true),
  /** The model's context window in tokens, as agents' `llm_config` reports it. */
  LLM_CONTEXT_WINDOW: z.coerce.number().int().positive().default(DEFAULT_CONTEXT_WINDOW),
});

export interface AgentConfig {
  provider: 'builtin' | 'openai';
  builtinPieceDelayMs: number;
  llmBaseUrl: string;
  llmApiKey: string | undefined;
  llmModel: string;
  llmStream: boolean;
  llmStreamUsage: boolean;
  llmContextWindow: number;
}

/** Refuses a provider that lacks what it needs to be called. */
export function agentConfig(e: z.infer<typeof agentSettings>): AgentConfig {
  if (e.SCOPEKIT_AGENT_PROVIDER === 'openai' && (!e.LLM_BASE_URL || !e.LLM_MODEL)) {
    throw new StartRefusal(
      'Invalid configuration: SCOPEKIT_AGENT_PROVIDER=openai needs LLM_BASE_URL and LLM_MODEL',
    );
  }
  return {
    provider: e.SCOPEKIT_AGENT_PROVIDER,
    builtinPieceDelayMs: e.SCOPEKIT_BUILTIN_DELAY_MS,
    llmBaseUrl: e.LLM_BASE_URL ?? '',
    llmApiKey: e.LLM_API_KEY,
    llmModel: e.LLM_MODEL ?? '',
    llmStream: e.LLM_STREAM,
    llmStreamUsage: e.LLM_STREAM_USAGE,
    llmContextWindow: e.LLM_CONTEXT_WINDOW,
  };
}
