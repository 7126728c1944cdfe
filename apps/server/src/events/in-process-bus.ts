import type { EventBus } from './bus.js';

/**
 * One instance (embedded PGlite): delivery is a function call, so it is never interrupted
 * and subscribers' `onInterruption` is never called.
 */
export class InProcessBus implements EventBus {
  readonly notifiesThroughDatabase = false;
  readonly #handlers = new Map<string, Set<(payload: unknown) => void>>();

  async publish(channel: string, payload: unknown): Promise<void> {
    // Handlers get their own copy, as they would across instances.
    const text = JSON.stringify(payload);
    for (const handler of this.#handlers.get(channel) ?? []) handler(JSON.parse(text));
  }

  async subscribe(channel: string, handler: (payload: unknown) => void) {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.#handlers.delete(channel);
    };
  }

  async close() {
    this.#handlers.clear();
  }
}
