import {
  type AgentRuntime,
  AgentRuntimeError,
  type RuntimePart,
} from '../../src/agent-runtime/runtime.js';

/**
 * A runtime a test steers: each turn yields `opening` (a reply begun), waits until
 * `release()` (or until the turn is aborted), then yields `pieces`, and then fails as a
 * model does when `failure` is set.
 */
export class ScriptedRuntime implements AgentRuntime {
  llmConfig = () => ({ model: 'scripted', model_endpoint_type: 'scripted', context_window: 0 });
  /** Turns that have started, so a test knows one is waiting at the gate. */
  started = 0;
  #open = false;
  #waiting = new Set<() => void>();

  constructor(
    private readonly script: {
      pieces: string[];
      opening?: string[];
      failure?: string;
      gated?: boolean;
    },
  ) {
    this.#open = !script.gated;
  }

  /** Turns waiting at the gate now (what `opening` they had is already said). */
  get waiting(): number {
    return this.#waiting.size;
  }

  release() {
    this.#open = true;
    for (const wake of this.#waiting) wake();
    this.#waiting.clear();
  }

  async *respond(
    _agent: unknown,
    _history: unknown,
    { signal }: { signal: AbortSignal },
  ): AsyncIterable<RuntimePart> {
    this.started += 1;
    for (const text of this.script.opening ?? []) yield { type: 'text', text };
    if (!this.#open) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#waiting.delete(wake);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#waiting.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    for (const text of this.script.pieces) yield { type: 'text', text };
    if (this.script.failure) throw new AgentRuntimeError(this.script.failure);
    yield { type: 'usage', promptTokens: 1, completionTokens: this.script.pieces.length };
  }
}
