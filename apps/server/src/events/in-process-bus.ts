import type { Database } from '../db/client.js';
import type { EventBus, PublishWithin } from './bus.js';

/**
 * One instance (embedded PGlite): delivery is a function call, so it is never interrupted
 * and subscribers' `onInterruption` is never called.
 */
export class InProcessBus implements EventBus {
  readonly #handlers = new Map<string, Set<(payload: unknown) => void>>();

  async publish(channel: string, payload: unknown): Promise<void> {
    this.#deliver(channel, JSON.stringify(payload));
  }

  async transaction<T>(
    db: Database,
    work: (tx: Database, publish: PublishWithin) => Promise<T>,
  ): Promise<T> {
    // Serialised at once, so a payload that cannot be sent fails the write, as through NOTIFY.
    const pending: [channel: string, text: string][] = [];
    const result = await db.transaction((tx) =>
      work(tx, async (channel, payloads) => {
        for (const payload of payloads) pending.push([channel, JSON.stringify(payload)]);
      }),
    );
    for (const [channel, text] of pending) this.#deliver(channel, text);
    return result;
  }

  /**
   * Parsed once, and the same object handed to every handler, as the PostgreSQL bus does:
   * a live event's frame is then serialized once for all its streams. Handlers only read it.
   */
  #deliver(channel: string, text: string) {
    const handlers = this.#handlers.get(channel);
    if (!handlers?.size) return;
    const payload: unknown = JSON.parse(text);
    for (const handler of handlers) handler(payload);
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
