import postgres from 'postgres';
import type { EventBus, Interruption } from './bus.js';

/** NOTIFY payloads are limited to 8000 bytes; callers send references for anything larger. */
export const MAX_NOTIFY_BYTES = 7900;

interface Subscriber {
  handler: (payload: unknown) => void;
  onInterruption: ((phase: Interruption) => void) | undefined;
}

interface Channel {
  subscribers: Set<Subscriber>;
  /** The LISTEN on the current connection; unset until issued, and again after a loss. */
  listening: Promise<void> | undefined;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * LISTEN/NOTIFY on the shared PostgreSQL. Publishing uses the pool; listening uses one
 * dedicated connection of its own, shared by every channel and local subscriber.
 *
 * postgres.js's own `sql.listen` re-listens once after a lost connection and silently gives
 * up if the database is not back by then, so this bus keeps the connection itself: when it
 * closes, subscribers hear `lost`, the bus re-issues LISTEN every `retryMs` until it works,
 * and then subscribers hear `resumed` (whatever was published in between is gone).
 */
export class PostgresBus implements EventBus {
  readonly notifiesThroughDatabase = true;
  readonly #channels = new Map<string, Channel>();
  readonly #listener: postgres.Sql;
  readonly #retryMs: number;
  #recovering = false;
  /** Counts closes of the listening connection, so a recovery overtaken by another close retries. */
  #closes = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly sql: postgres.Sql,
    options: { retryMs?: number } = {},
  ) {
    this.#retryMs = options.retryMs ?? 1000;
    // The pool's own parsed options, as postgres.js's `listen` uses for its connection;
    // `onnotify` is missing from the typings but is what that connection is built with.
    const listenerOptions = {
      ...(sql.options as unknown as postgres.Options<Record<string, never>>),
      max: 1,
      idle_timeout: 0,
      // Recycling the connection would open a gap in delivery for nothing.
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel: string, text: string) => this.#deliver(channel, text),
      onclose: () => this.#lost(),
    };
    this.#listener = postgres(listenerOptions);
  }

  async publish(channel: string, payload: unknown): Promise<void> {
    const text = JSON.stringify(payload);
    if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) {
      throw new Error(
        `Event on ${channel} is ${Buffer.byteLength(text)} bytes; NOTIFY allows ${MAX_NOTIFY_BYTES}`,
      );
    }
    await this.sql.notify(channel, text);
  }

  async subscribe(
    channel: string,
    handler: (payload: unknown) => void,
    onInterruption?: (phase: Interruption) => void,
  ) {
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { subscribers: new Set(), listening: undefined };
      this.#channels.set(channel, entry);
    }
    const subscriber: Subscriber = { handler, onInterruption };
    entry.subscribers.add(subscriber);
    const current = entry;
    const unsubscribe = async () => {
      current.subscribers.delete(subscriber);
      if (current.subscribers.size > 0 || this.#channels.get(channel) !== current) return;
      this.#channels.delete(channel);
      // A lost connection has dropped the LISTEN already; nothing to undo then.
      await this.#listener.unsafe(`unlisten ${quoteIdentifier(channel)}`).catch(() => {});
    };
    try {
      await this.#listen(channel, entry);
    } catch (error) {
      await unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  async close() {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#channels.clear();
    await this.#listener.end({ timeout: 1 });
  }

  #listen(channel: string, entry: Channel): Promise<void> {
    entry.listening ??= this.#listener.unsafe(`listen ${quoteIdentifier(channel)}`).then(
      () => {},
      (error: unknown) => {
        entry.listening = undefined;
        throw error;
      },
    );
    return entry.listening;
  }

  #deliver(channel: string, text: string) {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      process.emitWarning(`Ignored a NOTIFY on ${channel} that is not JSON`);
      return;
    }
    for (const { handler } of entry.subscribers) {
      try {
        handler(payload);
      } catch (error) {
        // One failing subscriber must not keep the event from the others.
        process.emitWarning(error instanceof Error ? error : String(error));
      }
    }
  }

  #notifyInterruption(phase: Interruption) {
    for (const entry of this.#channels.values()) {
      for (const { onInterruption } of entry.subscribers) onInterruption?.(phase);
    }
  }

  /** The listening connection closed (or failed to open): every LISTEN on it is gone. */
  #lost() {
    if (this.#closed) return;
    this.#closes++;
    const hadListens = [...this.#channels.values()].some((entry) => entry.listening);
    for (const entry of this.#channels.values()) entry.listening = undefined;
    if (!hadListens || this.#recovering) return;
    this.#recovering = true;
    this.#notifyInterruption('lost');
    void this.#recover();
  }

  async #recover(): Promise<void> {
    if (this.#closed) return;
    const closes = this.#closes;
    try {
      await Promise.all(
        [...this.#channels].map(([channel, entry]) => this.#listen(channel, entry)),
      );
      if (this.#closes !== closes) throw new Error('The listening connection closed again');
    } catch {
      this.#retryTimer = setTimeout(() => void this.#recover(), this.#retryMs);
      this.#retryTimer.unref();
      return;
    }
    this.#recovering = false;
    this.#notifyInterruption('resumed');
  }
}
