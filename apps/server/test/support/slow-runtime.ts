import type { AgentRuntime, RuntimePart } from '../../src/agent-runtime/runtime.js';

/** A runtime whose replies take a while, recording how many turns ran at once. */
export class SlowRuntime implements AgentRuntime {
  llmConfig = () => ({ model: 'slow', model_endpoint_type: 'slow', context_window: 0 });
  running = 0;
  maxRunning = 0;
  constructor(private readonly pieceDelayMs = 5) {}
  async *respond(_agent: unknown, history: { content: string }[]): AsyncIterable<RuntimePart> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      for (const piece of ['re: ', history.at(-1)?.content ?? '']) {
        await new Promise((r) => setTimeout(r, this.pieceDelayMs));
        yield { type: 'text', text: piece };
      }
    } finally {
      this.running -= 1;
    }
  }
}
