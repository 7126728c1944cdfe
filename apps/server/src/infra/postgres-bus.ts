import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { Database } from '../db/client.js';
import type { EventBus, Interruption, PublishWithin } from '../events/bus.js';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; this leaves room to spare. */
export const MAX_NOTIFY_BYTES = 7900;
/**
 * An event larger than one NOTIFY travels as parts (see `publish`). Bounds what a listener
 * buffers: parts per event (so at most ~31 MiB an event), and events assembled at once.
 */
export const MAX_PARTS = 4096;
const MAX_ASSEMBLING = 8;
/** Marks a part; an event's own text is JSON, which never starts with `~`. */
const PART_PREFIX = '~part:';
/** `~part:<set id>:<index>:<count>:<text>`; the set id is a UUID. */
const PART_PATTERN = /^~part:([0-9a-f-]{36}):(\d{1,4}):(\d{1,4}):/;
const PART_HEADER_BYTES = PART_PREFIX.length + 36 + 1 + 4 + 1 + 4 + 1;

/** Cuts UTF-8 text into pieces of at most `max` bytes, never inside a character. */
export function splitUtf8(text: string, max: number): string[] {
  const bytes = Buffer.from(text);
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + max, bytes.length);
    // A continuation byte (10xxxxxx) means the cut would fall inside a character.
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    pieces.push(bytes.subarray(start, end).toString());
    start = end;
  }
  return pieces;
}

/**
 * The NOTIFY payloads that carry `payload` on `channel`: its JSON, or its parts when larger
 * than one NOTIFY takes. Sent in one transaction, in this order, they arrive as one event.
 */
export function notifyPayloads(channel: string, payload: unknown): string[] {
  const text = JSON.stringify(payload);
  const size = Buffer.byteLength(text);
  if (size <= MAX_NOTIFY_BYTES) return [text];
  const pieces = splitUtf8(text, MAX_NOTIFY_BYTES - PART_HEADER_BYTES);
  if (pieces.length > MAX_PARTS) {
    throw new Error(`Event on ${channel} is ${size} bytes, more than the bus carries`);
  }
  const id = randomUUID();
  return pieces.map((piece, index) => `${PART_PREFIX}${id}:${index}:${pieces.length}:${piece}`);
}

interface Assembly {
  channel: string;
  parts: string[];
  count: number;
}

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
  #connects = 0;
  #recovering = false;
  /** Counts closes of the listening connection, so a recovery overtaken by another close retries. */
  #closes = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Events arriving in parts, by set id, oldest first. */
  readonly #assembling = new Map<string, Assembly>();

  constructor(
    private readonly sql: postgres.Sql,
    options: { retryMs?: number; heartbeatMs?: number; heartbeatTimeoutMs?: number } = {},
  ) {
    this.#retryMs = options.retryMs ?? 1000;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5_000;
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 5_000);
    this.#heartbeat.unref();
    // The pool's own parsed options, as postgres.js's `listen` uses for its connection;
    // `onnotify` is missing from the typings but is what that connection is built with.
    const listenerOptions = {
      ...(sql.options as unknown as postgres.Options<Record<string, never>>),
      max: 1,
      idle_timeout: 0,
      // Recycling the connection would open a gap in delivery for nothing.
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel: string, text: string) => this.#receive(channel, text),
      onclose: () => this.#lost(),
      // postgres.js's own connect, but keeping the socket: it has no other way to cut one.
      // Given a socket, postgres.js skips its connect and speaks (TLS included) over it.
      socket: (parsed: { host: string[]; port: number[]; path: string | false }) => {
        const index = this.#connects++ % Math.max(1, parsed.host.length);
        const host = parsed.host[index] ?? 'localhost';
        const port = parsed.port[index] ?? parsed.port[0] ?? 5432;
        // postgres.js names the TLS server from `host`, as it does for its own sockets.
        const socket = parsed.path
          ? connect(parsed.path)
          : Object.assign(connect(port, host), { host, port });
        this.#socket = socket;
        return socket;
      },
    };
    this.#listener = postgres(listenerOptions);
  }

  /**
   * An event over one NOTIFY's limit (a long message or reply) is cut into parts sent in one
   * transaction. PostgreSQL delivers a transaction's notifications together, in the order
   * sent, and never interleaves them with another transaction's, so a listener sees a set's
   * parts in a row and joins them. This keeps the bus general (any event, any size within
   * MAX_PARTS) at the cost of one short transaction; sending a reference instead would make
   * every subscriber of every instance read the row back for each large message.
   */
  async publish(channel: string, payload: unknown): Promise<void> {
    const payloads = notifyPayloads(channel, payload);
    const [single] = payloads;
    if (payloads.length === 1 && single !== undefined) {
      await this.sql.notify(channel, single);
      return;
    }
    // Pipelined in one transaction: the parts commit, and are delivered, together.
    await this.sql.begin((tx) => payloads.map((part) => tx`select pg_notify(${channel}, ${part})`));
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
    this.#assembling.clear();
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
    if (!text.startsWith(PART_PREFIX)) {
      this.#deliver(channel, text);
      return;
    }
    if (!this.#channels.has(channel)) return;
    const match = PART_PATTERN.exec(text);
    if (!match) {
      process.emitWarning(`Ignored a malformed part of an event on ${channel}`);
      return;
    }
    const [header, id = '', indexText, countText] = match;
    const index = Number(indexText);
    const count = Number(countText);
    const piece = text.slice(header.length);
    if (index === 0) {
      if (count < 2 || count > MAX_PARTS) return;
      // Only an interrupted delivery leaves sets unfinished; the oldest one is given up.
      if (this.#assembling.size >= MAX_ASSEMBLING) {
        const [oldest] = this.#assembling.keys();
        if (oldest !== undefined) this.#assembling.delete(oldest);
      }
      this.#assembling.set(id, { channel, parts: [piece], count });
      return;
    }
    const assembly = this.#assembling.get(id);
    // The set's start came before this instance listened, or was given up: nothing to join.
    if (!assembly) return;
    if (
      assembly.channel !== channel ||
      assembly.count !== count ||
      index !== assembly.parts.length
    ) {
      this.#assembling.delete(id);
      process.emitWarning(`Dropped an event on ${channel} whose parts arrived out of order`);
      return;
    }
    assembly.parts.push(piece);
    if (assembly.parts.length < count) return;
    this.#assembling.delete(id);
    this.#deliver(channel, assembly.parts.join(''));
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
    this.#assembling.clear();
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
