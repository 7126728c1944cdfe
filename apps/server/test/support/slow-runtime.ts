import type { AgentRuntime, HistoryMessage, RuntimePart } from '../../src/agent-runtime/runtime.js';

/** A runtime whose replies take a while, recording how many turns ran at once. */
export class SlowRuntime implements AgentRuntime {
  llmConfig = () => ({ model: 'slow', model_endpoint_type: 'slow', context_window: 0 });
  running = 0;
  maxRunning = 0;
  constructor(private readonly pieceDelayMs = 5) {}
  async *respond(_agent: unknown, history: HistoryMessage[]): AsyncIterable<RuntimePart> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const last = history.at(-1);
    try {
      for (const piece of ['re: ', last && 'content' in last ? last.content : '']) {
        await new Promise((r) => setTimeout(r, this.pieceDelayMs));
        yield { type: 'text', text: piece };
      }
    } finally {
      this.running -= 1;
    }
  }
}
