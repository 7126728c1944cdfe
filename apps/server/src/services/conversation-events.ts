import { and, asc, eq, gt } from 'drizzle-orm';
import { messages } from '../db/schema.js';
import type { EventBus } from '../events/bus.js';
import type { ServiceDeps } from './deps.js';
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
 * A live stream of one agent's conversation. It listens first and reads the database second,
 * so nothing published in between is lost; messages already replayed are not sent twice.
 * After `lastEventId`, the stored messages that followed it are replayed (deltas are not: a
 * reply in progress shows up whole once stored).
 */
export async function* conversationEvents(
  deps: Pick<ServiceDeps, 'db' | 'bus'>,
  args: { agentId: string; lastEventId?: string | null; signal: AbortSignal },
): AsyncGenerator<TrackedEvent> {
  const { agentId, signal } = args;
  const queue: ConversationEvent[] = [];
  let wake: (() => void) | undefined;
  // After a gap in delivery (the instance lost its LISTEN connection), whatever was
  // published meanwhile is gone from the bus; the stored messages among it are re-read.
  let resync = false;
  const unsubscribe = await deps.bus.subscribe(
    conversationChannel(agentId),
    (payload) => {
      queue.push(payload as ConversationEvent);
      wake?.();
    },
    (phase) => {
      if (phase !== 'resumed') return;
      resync = true;
      wake?.();
    },
  );
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    let lastSeq = resumeSeqOf(args.lastEventId);
    // Page by page until caught up: live events carry later seqs, so a message left out of
    // the replay would never be sent.
    const replayAfter = async function* (after: number) {
      for (;;) {
        const page = await deps.db
          .select()
          .from(messages)
          .where(and(eq(messages.agentId, agentId), gt(messages.seq, after)))
          .orderBy(asc(messages.seq))
          .limit(REPLAY_PAGE);
        for (const row of page) {
          const event: ConversationEvent = { type: 'message', message: toLettaMessage(row) };
          lastSeq = row.seq;
          yield { id: eventIdOf(event), event };
        }
        const last = page.at(-1);
        if (!last || page.length < REPLAY_PAGE || signal.aborted) return;
        after = last.seq;
      }
    };
    if (lastSeq !== null) yield* replayAfter(lastSeq);
    while (!signal.aborted) {
      // Without a position (no lastEventId, nothing stored seen yet) there is none to resume from.
      if (resync) {
        resync = false;
        if (lastSeq !== null) yield* replayAfter(lastSeq);
      }
      const event = queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (event.type === 'message') {
        if (lastSeq !== null && event.message.seq_id <= lastSeq) continue;
        lastSeq = event.message.seq_id;
      }
      yield { id: eventIdOf(event), event };
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await unsubscribe();
  }
}
