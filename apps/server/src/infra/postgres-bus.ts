import type { Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Database } from '../db/client.js';
import type { EventBus, Interruption, PublishWithin } from '../events/bus.js';
import { openListenerConnection } from './listener-connection.js';
import { NotifyBatch } from './notify-batch.js';
import { isPart, notifyPayloads, PartAssembler } from './notify-parts.js';

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
 *
 * A connection can also die without closing: a half-open TCP connection (a NAT or load
 * balancer that dropped it, a host gone without a word) delivers nothing and reports
 * nothing, and TCP keep-alive takes minutes to notice. Meanwhile this instance would miss
 * every revocation while its token cache went on filling. So while anything is listened,
 * a heartbeat sends `select 1` down the listening connection every `heartbeatMs`; one not
 * answered within `heartbeatTimeoutMs` destroys the connection's socket, and the close
 * above takes it from there (`lost`, re-LISTEN, `resumed`).
 */
export class PostgresBus implements EventBus {
  readonly #channels = new Map<string, Channel>();
  readonly #listener: postgres.Sql;
  readonly #retryMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #heartbeat: NodeJS.Timeout;
  /** The heartbeat query not yet answered, the socket it waits on, and since when. */
  #awaiting: { socket: Socket | undefined; sinceMs: number } | undefined;
  /** The listening connection's current socket, made here so that a heartbeat can cut it. */
  #socket: Socket | undefined;
  #recovering = false;
  /** Counts closes of the listening connection, so a recovery overtaken by another close retries. */
  #closes = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Events arriving in parts. */
  readonly #parts = new PartAssembler();
  readonly #outbox: NotifyBatch;

  constructor(
    sql: postgres.Sql,
    options: { retryMs?: number; heartbeatMs?: number; heartbeatTimeoutMs?: number } = {},
  ) {
    this.#retryMs = options.retryMs ?? 1000;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5_000;
    this.#outbox = new NotifyBatch(sql);
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 5_000);
    this.#heartbeat.unref();
    this.#listener = openListenerConnection(sql, {
      onnotify: (channel, text) => this.#receive(channel, text),
      onclose: () => this.#lost(),
      onsocket: (socket) => {
        this.#socket = socket;
      },
    });
  }

  /**
   * An event over one NOTIFY's limit (a long message or reply) is cut into parts sent in one
   * transaction. PostgreSQL delivers a transaction's notifications together, in the order
   * sent, and never interleaves them with another transaction's, so a listener sees a set's
   * parts in a row and joins them. This keeps the bus general (any event, any size within
   * MAX_PARTS); sending a reference instead would make every subscriber of every instance
   * read the row back for each large message. Publishes made at the same time share one
   * statement (see NotifyBatch).
   */
  async publish(channel: string, payload: unknown): Promise<void> {
    await this.#outbox.send(channel, notifyPayloads(channel, payload));
  }

  async transaction<T>(
    db: Database,
    work: (tx: Database, publish: PublishWithin) => Promise<T>,
  ): Promise<T> {
    return db.transaction((tx) =>
      work(tx, async (channel, payloads) => {
        const texts = payloads.flatMap((payload) => notifyPayloads(channel, payload));
        if (texts.length === 0) return;
        // One statement from one JSON parameter, however many events and parts; volatile
        // functions run after the sort, so the NOTIFYs go out in the order given.
        await tx.execute(sql`
          select pg_notify(${channel}, payload)
          from json_array_elements_text(${JSON.stringify(texts)}::json)
            with ordinality as sent(payload, place)
          order by place`);
      }),
    );
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
    clearInterval(this.#heartbeat);
    this.#channels.clear();
    this.#parts.clear();
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

  #receive(channel: string, text: string) {
    if (!isPart(text)) {
      this.#deliver(channel, text);
      return;
    }
    if (!this.#channels.has(channel)) return;
    const whole = this.#parts.add(channel, text);
    if (whole !== undefined) this.#deliver(channel, whole);
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

  /**
   * A round trip on the listening connection, while it has (or is re-issuing) a LISTEN. A
   * query that fails says the connection closed, which `#lost` hears anyway; one that hangs
   * says it is half-open, and only cutting the socket ends that. One query at a time: while
   * one waits (it may wait through a reconnection), each socket gets the full timeout to
   * answer it before it is cut.
   */
  #beat(): void {
    if (this.#closed) return;
    if (![...this.#channels.values()].some((entry) => entry.listening)) return;
    const socket = this.#socket;
    const nowMs = performance.now();
    const awaiting = this.#awaiting;
    if (awaiting) {
      if (awaiting.socket !== socket) {
        awaiting.socket = socket;
        awaiting.sinceMs = nowMs;
      } else if (nowMs - awaiting.sinceMs >= this.#heartbeatTimeoutMs) {
        socket?.destroy(new Error('The listening connection did not answer its heartbeat'));
        awaiting.sinceMs = nowMs;
      }
      return;
    }
    const sent = { socket, sinceMs: nowMs };
    this.#awaiting = sent;
    const answered = () => {
      if (this.#awaiting === sent) this.#awaiting = undefined;
    };
    this.#listener`select 1`.then(answered, answered);
  }

  /** The listening connection closed (or failed to open): every LISTEN on it is gone. */
  #lost() {
    if (this.#closed) return;
    this.#closes++;
    // The rest of any set being assembled went with the connection.
    this.#parts.clear();
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
