import type postgres from 'postgres';
import type { EventBus } from './bus.js';

/** NOTIFY payloads are limited to 8000 bytes; callers send references for anything larger. */
export const MAX_NOTIFY_BYTES = 7900;

/**
 * LISTEN/NOTIFY on the shared PostgreSQL. postgres.js keeps one dedicated listening
 * connection and re-issues LISTEN after a reconnect. Local handlers share one LISTEN per
 * channel.
 */
export class PostgresBus implements EventBus {
  readonly #listeners = new Map<
    string,
    { handlers: Set<(payload: unknown) => void>; ready: Promise<postgres.ListenMeta> }
  >();

  constructor(private readonly sql: postgres.Sql) {}

  async publish(channel: string, payload: unknown): Promise<void> {
    const text = JSON.stringify(payload);
    if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) {
      throw new Error(
        `Event on ${channel} is ${Buffer.byteLength(text)} bytes; NOTIFY allows ${MAX_NOTIFY_BYTES}`,
      );
    }
    await this.sql.notify(channel, text);
  }

  async subscribe(channel: string, handler: (payload: unknown) => void) {
    let entry = this.#listeners.get(channel);
    if (!entry) {
      const handlers = new Set<(payload: unknown) => void>();
      const ready = this.sql.listen(channel, (text) => {
        const payload: unknown = JSON.parse(text);
        for (const h of handlers) h(payload);
      });
      entry = { handlers, ready };
      this.#listeners.set(channel, entry);
    }
    entry.handlers.add(handler);
    const meta = await entry.ready;
    const current = entry;
    return async () => {
      current.handlers.delete(handler);
      if (current.handlers.size === 0 && this.#listeners.get(channel) === current) {
        this.#listeners.delete(channel);
        await meta.unlisten();
      }
    };
  }

  async close() {
    const entries = [...this.#listeners.values()];
    this.#listeners.clear();
    await Promise.all(entries.map(async (e) => (await e.ready).unlisten()));
  }
}
