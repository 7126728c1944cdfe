import { providerOf } from './model-handle.js';
import type { AgentRuntime } from './runtime.js';

/**
 * Letta's `llm_config` of an agent, the fields the SDK declares that this server can say
 * truly. `model_endpoint` is never shown: any holder of a client-side token with
 * `read_agent` reads it, and the operator's endpoint address (an internal host, credentials
 * in the URL) is not theirs to know.
 */
export interface LettaLlmConfig {
  model: string;
  display_name: string;
  handle: string;
  model_endpoint_type: string;
  model_endpoint: null;
  provider_name: string;
  provider_category: 'base';
  model_wrapper: null;
  context_window: number;
  max_tokens: null;
  put_inner_thoughts_in_kwargs: false;
  enable_reasoner: false;
  reasoning_effort: null;
  compatibility_type: null;
}

/** What answers an agent whose `model` (a handle, or null for the default) is this. */
export function lettaLlmConfig(runtime: AgentRuntime, model: string | null): LettaLlmConfig {
  const config = runtime.llmConfig(model);
  const provider = providerOf(runtime);
  return {
    model: config.model,
    display_name: config.model,
    handle: `${provider.name}/${config.model}`,
    model_endpoint_type: config.model_endpoint_type,
    model_endpoint: null,
    provider_name: provider.name,
    provider_category: 'base',
    model_wrapper: null,
    context_window: config.context_window,
    // The endpoint's own cap on a reply; nothing here sets one.
    max_tokens: null,
    put_inner_thoughts_in_kwargs: false,
    enable_reasoner: false,
    reasoning_effort: null,
    compatibility_type: null,
  };
}
