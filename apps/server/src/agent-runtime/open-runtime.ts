import type { Config } from '../config/config-types.js';
import { BuiltinRuntime } from './builtin.js';
import { OpenAIRuntime } from './openai.js';
import type { AgentRuntime } from './runtime.js';

export function openAgentRuntime(config: Config): AgentRuntime {
  const { agent } = config;
  if (agent.provider === 'builtin') {
    return new BuiltinRuntime(agent.builtinPieceDelayMs, agent.llmContextWindow);
  }
  return new OpenAIRuntime({
    baseURL: agent.llmBaseUrl,
    apiKey: agent.llmApiKey,
    model: agent.llmModel,
    stream: agent.llmStream,
    streamUsage: agent.llmStreamUsage,
    contextWindow: agent.llmContextWindow,
    timeoutMs: config.turnTimeoutMs,
  });
}
