import { and, asc, eq, gt, max } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { errorCodes, FOREIGN_KEY_VIOLATION } from '../db/error-code.js';
import { messages } from '../db/schema.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { type LettaMessage, type StopReason, toLettaMessage } from './message-view.js';

/**
 * What a live conversation stream carries. `message` is a stored message (it has a `seq_id`);
 * `delta` is the next piece of a reply still being produced; `stop` ends a turn. Deltas and
 * stops carry `afterSeq`, the last stored message before them, so every event has a position
 * to resume from.
 */
export type ConversationEvent =
  | { type: 'message'; message: LettaMessage }
  | {
      type: 'delta';
      messageId: string;
      runId: string;
      text: string;
      index: number;
      afterSeq: number;
    }
  | { type: 'stop'; runId: string; stopReason: StopReason; error?: string; afterSeq: number };

/** The bus channel of one agent's conversation. */
export const conversationChannel = (agentId: string) => `conversation:${agentId}`;

export function publishConversationEvent(bus: EventBus, agentId: string, event: ConversationEvent) {
  return bus.publish(conversationChannel(agentId), event);
}

export type MessageValues = typeof messages.$inferInsert;

/**
 * Stores messages and announces them, oldest first, in one transaction: a stored message is
 * never missing from live streams, and an announcement that fails rolls its insert back
 * rather than failing a send whose message is stored. `values` may be work done in that
 * transaction first (a tool's memory edit), returning the messages that record it.
 */
export async function storeAndAnnounce(
  deps: Pick<ServiceDeps, 'db' | 'bus'>,
  agentId: string,
  values: MessageValues[] | ((tx: Database) => Promise<MessageValues[]>),
): Promise<LettaMessage[]> {
  try {
    return await deps.bus.transaction(deps.db, async (tx, publish) => {
      const inserted = typeof values === 'function' ? await values(tx) : values;
      const rows = await tx.insert(messages).values(inserted).returning();
      const stored = rows.sort((a, b) => a.seq - b.seq).map(toLettaMessage);
      const events = stored.map((message): ConversationEvent => ({ type: 'message', message }));
      await publish(conversationChannel(agentId), events);
      return stored;
    });
  } catch (error) {
    // The agent was deleted while its turn ran (its conversation went with it).
    if (errorCodes(error).includes(FOREIGN_KEY_VIOLATION))
      throw notFound(`Agent ${agentId} not found`);
    throw error;
  }
}

/**
 * Event ids: a stored message's is its seq ("42"); a delta's or stop's is the seq it follows
 * plus its run and place ("42:run-…:7"), unique and still resumable from 42.
 */
export function eventIdOf(event: ConversationEvent): string {
  switch (event.type) {
    case 'message':
      return String(event.message.seq_id);
    case 'delta':
      return `${event.afterSeq}:${event.runId}:${event.index}`;
    case 'stop':
      return `${event.afterSeq}:${event.runId}:stop`;
  }
}

/** The seq an event id resumes after; null for an id this server never issued. */
export function resumeSeqOf(lastEventId: string | null | undefined): number | null {
  if (!lastEventId) return null;
  const match = /^(\d{1,15})(?::|$)/.exec(lastEventId);
  return match ? Number(match[1]) : null;
}

/** Stored messages read at a time when a stream catches up. */
export const REPLAY_PAGE = 1000;

export interface TrackedEvent {
  id: string;
  event: ConversationEvent;
}

/**
 * Events a stream holds for a reader that does not keep up (a slow client, a stalled
 * connection) before it gives up on it: every delta of a few long replies. Past that the
 * stream ends with an error, and the client resumes from its last event id.
 */
export const MAX_BUFFERED_EVENTS = 2000;

const fellBehind = () =>
  new AppError(
    'SERVICE_UNAVAILABLE',
    `This stream fell more than ${MAX_BUFFERED_EVENTS} events behind and was ended; subscribe again with the last event id to resume`,
  );

/** The newest stored message's seq, or 0: where a stream opened without a position stands. */
async function newestSeq(deps: Pick<ServiceDeps, 'db'>, agentId: string): Promise<number> {
  const [row] = await deps.db
    .select({ seq: max(messages.seq) })
    .from(messages)
    .where(eq(messages.agentId, agentId));
  return Number(row?.seq ?? 0);
}

/** Marks, among a stream's live events, where delivery stopped (see `openConversationEvents`). */
const GAP = Symbol('gap in delivery');
/** How long a re-read after a gap waits before trying again while the database is down. */
const RETRY_REREAD_MS = 500;

/**
 * Opens a live stream of one agent's conversation, resolving once it listens: whatever is
 * published after that is delivered. It listens first and reads the database second, so
 * nothing published in between is lost; messages already replayed are not sent twice. After
 * `lastEventId`, the stored messages that followed it are replayed (deltas are not: a reply
 * in progress shows up whole once stored). Without one the stream starts from the newest
 * message now.
 *
 * When the instance loses its LISTEN connection, whatever is published until it listens
 * again is gone from the bus. The stream then holds back the live events that arrive after
 * the gap, re-reads the stored messages from where it stood (again and again while the
 * database is down), and only then delivers what it held, skipping what the re-read sent:
 * a message's id is its seq, so an event at or below the last seq sent is a duplicate.
 */
export async function openConversationEvents(
  deps: Pick<ServiceDeps, 'db' | 'bus'>,
  args: { agentId: string; lastEventId?: string | null; signal: AbortSignal },
): Promise<AsyncGenerator<TrackedEvent>> {
  const stream = new ConversationStream(deps, args.agentId, args.signal, args.lastEventId);
  await stream.listen();
  return stream.follow();
}

/**
 * One open stream's state. A class rather than closures over locals: its generators are
 * methods, shared by every stream, where generator functions declared per stream would
 * each bring their own prototype and hidden classes, for as long as the stream is open.
 */
class ConversationStream {
  readonly #queue: (ConversationEvent | typeof GAP)[] = [];
  #wake: (() => void) | undefined;
  /** Gaps whose LISTEN is back: the re-read after each may start. */
  #resumed = 0;
  #overflowed = false;
  #stopListening: (() => Promise<void>) | undefined;
  #lastSeq: number | null;
  /** Where the stream stands when it has sent nothing yet. */
  #position = 0;

  constructor(
    readonly deps: Pick<ServiceDeps, 'db' | 'bus'>,
    readonly agentId: string,
    readonly signal: AbortSignal,
    lastEventId: string | null | undefined,
  ) {
    this.#lastSeq = resumeSeqOf(lastEventId);
  }

  /** Subscribes, then finds where the stream stands; resolves once it listens. */
  async listen() {
    const { deps, agentId, signal } = this;
    this.#stopListening = await deps.bus.subscribe(
      conversationChannel(agentId),
      (payload) => {
        if (this.#overflowed) return;
        if (this.#queue.length >= MAX_BUFFERED_EVENTS) {
          this.#overflowed = true;
          this.#queue.length = 0;
          void this.#unsubscribe();
        } else {
          this.#queue.push(payload as ConversationEvent);
        }
        this.#rouse();
      },
      (phase) => {
        if (phase === 'lost') this.#queue.push(GAP);
        else this.#resumed += 1;
        this.#rouse();
      },
    );
    // A stream that is never read (its client left at once) lets go when its signal ends,
    // or at once if it ended while the subscription was being made.
    signal.addEventListener('abort', this.#onAbort, { once: true });
    if (signal.aborted) this.#onAbort();
    try {
      this.#position = this.#lastSeq ?? (await newestSeq(deps, agentId));
    } catch (error) {
      signal.removeEventListener('abort', this.#onAbort);
      await this.#unsubscribe();
      throw error;
    }
  }

  async *follow(): AsyncGenerator<TrackedEvent> {
    try {
      if (this.#lastSeq !== null) yield* this.#replayAfter(this.#lastSeq);
      while (!this.signal.aborted) {
        if (this.#overflowed) throw fellBehind();
        const event = this.#queue.shift();
        if (event === undefined) {
          await this.#sleep();
          continue;
        }
        if (event === GAP) {
          yield* this.#catchUp();
          continue;
        }
        const lastSeq = this.#lastSeq;
        if (event.type === 'message') {
          if (lastSeq !== null && event.message.seq_id <= lastSeq) continue;
          this.#lastSeq = event.message.seq_id;
        } else if (event.type === 'delta' && lastSeq !== null && event.afterSeq < lastSeq) {
          // A piece of a reply the re-read has already sent whole.
          continue;
        }
        yield { id: eventIdOf(event), event };
      }
    } finally {
      this.signal.removeEventListener('abort', this.#onAbort);
      await this.#unsubscribe();
    }
  }

  // Page by page until caught up: live events carry later seqs, so a message left out of
  // the replay would never be sent.
  async *#replayAfter(after: number): AsyncGenerator<TrackedEvent> {
    for (;;) {
      const page = await this.deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.agentId, this.agentId), gt(messages.seq, after)))
        .orderBy(asc(messages.seq))
        .limit(REPLAY_PAGE);
      for (const row of page) {
        const event: ConversationEvent = { type: 'message', message: toLettaMessage(row) };
        this.#lastSeq = row.seq;
        yield { id: eventIdOf(event), event };
      }
      const last = page.at(-1);
      if (!last || page.length < REPLAY_PAGE || this.signal.aborted) return;
      after = last.seq;
    }
  }

  /** After a gap: once listening again, re-reads what was stored meanwhile, until it can. */
  async *#catchUp(): AsyncGenerator<TrackedEvent> {
    while (this.#resumed === 0 && !this.signal.aborted) {
      if (this.#overflowed) throw fellBehind();
      await this.#sleep();
    }
    this.#resumed = Math.max(0, this.#resumed - 1);
    while (!this.signal.aborted) {
      try {
        yield* this.#replayAfter(this.#lastSeq ?? this.#position);
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
      }
      if (this.#overflowed) throw fellBehind();
      const retry = setTimeout(() => this.#rouse(), RETRY_REREAD_MS);
      await this.#sleep();
      clearTimeout(retry);
    }
  }

  #sleep() {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  // Clears the sleeper as it wakes it rather than after the sleep (a `finally`), which would
  // hold one more promise and its reaction for every idle stream.
  #rouse() {
    const sleeper = this.#wake;
    this.#wake = undefined;
    sleeper?.();
  }

  readonly #onAbort = () => {
    this.#rouse();
    void this.#unsubscribe();
  };

  async #unsubscribe() {
    const stop = this.#stopListening;
    this.#stopListening = undefined;
    await stop?.();
  }
}
