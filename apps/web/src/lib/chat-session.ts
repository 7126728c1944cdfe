import { createSignal, onCleanup } from 'solid-js';
import type { AgentConnection, AgentEvent } from './agent-connection';
import { createAgentMemory } from './agent-memory';
import type { AgentTokenStore } from './agent-token';
import { describeError, type LettaMessage } from './api';
import { createConversation, newOtid, textOf } from './conversation';
import { type Connection, createLiveEvents } from './live-events';

const PAGE_SIZE = 100;

/**
 * Start here for what the chat page does, as opposed to how it looks. One chat with the
 * signed-in person's agent: the conversation (`conversation.ts`), kept live across token
 * refreshes and dropped connections (`live-events.ts`), its history read a page at a time,
 * sending and stopping a reply, and what the agent remembers (`agent-memory.ts`). It talks to the agent only through an `AgentConnection`, with tokens from the
 * store. Everything the page shows is a signal here; the page's components only render it.
 *
 * Create it while a component is being set up (it closes with that component), and `start()`
 * it once mounted.
 */
export function createChatSession(options: {
  connection: AgentConnection;
  tokens: AgentTokenStore;
}) {
  const { connection, tokens } = options;
  const conversation = createConversation();
  const [status, setStatus] = createSignal<Connection>('connecting');
  const [error, setError] = createSignal<string>();
  const [historyLoaded, setHistoryLoaded] = createSignal(false);
  const [hasOlder, setHasOlder] = createSignal(false);
  const [loadingOlder, setLoadingOlder] = createSignal(false);
  const [announcement, setAnnouncement] = createSignal('');
  const [sending, setSending] = createSignal(false);
  const [stopping, setStopping] = createSignal(false);
  const ownOtids = new Set<string>();
  const memory = createAgentMemory({ connection, tokens });
  /** This tab's send under way: its otid, and its turn once the server has started it. */
  let pending: { otid: string; runId?: string } | undefined;
  let closed = false;

  /**
   * A stored message, from whichever path brought it first. New ones are announced to screen
   * readers, except what this tab itself sent (the person just typed it).
   */
  function receive(message: LettaMessage) {
    memory.noticed(message);
    // The turn stores the sent message as it starts: that names the run a stop must cancel.
    if (pending && !pending.runId && message.otid === pending.otid) {
      pending.runId = message.run_id;
      if (stopping()) void cancel(pending.runId);
    }
    const isNew = conversation.store(message);
    const own = message.otid ? ownOtids.has(message.otid) : false;
    if (isNew && !own) {
      const who = message.message_type === 'user_message' ? 'You' : 'Agent';
      setAnnouncement(`${who}: ${textOf(message)}`);
    }
  }

  function apply(event: AgentEvent, current = true) {
    if (event.type === 'message') {
      receive(event.message);
    } else if (event.type === 'delta') {
      conversation.appendDelta(event);
    } else if (event.type === 'stop') {
      conversation.endTurn(event.runId);
      if (event.error && current) setError(`The agent could not answer: ${event.error}`);
    }
  }

  const live = createLiveEvents({
    connection,
    tokens,
    onEvent: apply,
    onConnection: setStatus,
    onGap: () => conversation.dropStreaming(),
  });

  async function loadHistory() {
    try {
      const page = await tokens.call((token) =>
        connection.history(token, { limit: PAGE_SIZE, order: 'desc' }),
      );
      for (const message of [...page].reverse()) conversation.store(message);
      // A stored message's event id is its seq.
      live.resumeFrom(String(page[0]?.seq_id ?? 0));
      setHasOlder(page.length === PAGE_SIZE);
      setHistoryLoaded(true);
    } catch (caught) {
      if (!closed) setError(`Could not load the conversation: ${describeError(caught)}`);
    }
  }

  /**
   * The page before the earliest message shown. `keepPlace` is handed the insertion, so the
   * view can keep what is on screen where it was.
   */
  async function loadOlder(keepPlace: (insert: () => void) => void = (insert) => insert()) {
    const before = conversation.oldest()?.id;
    if (!before || loadingOlder()) return;
    setLoadingOlder(true);
    setError(undefined);
    try {
      const page = await tokens.call((token) =>
        // Oldest first, `before` is the page just earlier than what is shown.
        connection.history(token, { before, limit: PAGE_SIZE, order: 'asc' }),
      );
      keepPlace(() => {
        for (const message of page) conversation.store(message);
      });
      setHasOlder(page.length === PAGE_SIZE);
      setAnnouncement(
        page.length === 0
          ? 'No older messages.'
          : page.length === 1
            ? 'Loaded 1 older message.'
            : `Loaded ${page.length} older messages.`,
      );
    } catch (caught) {
      setError(`Could not load older messages: ${describeError(caught)}`);
    } finally {
      setLoadingOlder(false);
    }
  }

  /**
   * Sends `content` (already trimmed). Undefined when nothing was sent: a send is under way
   * (one at a time, however the form was submitted), or there is nothing to send. Otherwise
   * it settles with whether the message was sent.
   */
  function send(content: string): Promise<boolean> | undefined {
    if (sending()) return undefined;
    if (!content) {
      setError('Type a message first.');
      return undefined;
    }
    setError(undefined);
    const otid = newOtid();
    ownOtids.add(otid);
    conversation.addLocal(otid, content);
    setSending(true);
    pending = { otid };
    return tokens
      .call((token) => connection.send(token, { content, otid }, (event) => apply(event)))
      .then(
        ({ stopReason }) => {
          conversation.setLocalState(otid, 'stored');
          // A stop asked for is no failure; the reply so far is kept as it was stored.
          if (stopReason === 'cancelled') setAnnouncement('Stopped.');
          else if (stopReason !== 'end_turn') setError(`The agent stopped: ${stopReason}`);
          return true;
        },
        (caught) => {
          conversation.setLocalState(otid, 'failed');
          setError(`Not sent: ${describeError(caught)}`);
          return false;
        },
      )
      .finally(() => {
        pending = undefined;
        setStopping(false);
        setSending(false);
      });
  }

  /**
   * Stops this tab's reply under way. A send still queued behind another turn has no run yet:
   * its run is cancelled as soon as it starts, so a stop never reaches someone else's turn.
   */
  function stop() {
    if (!pending || stopping()) return;
    setStopping(true);
    if (pending.runId) void cancel(pending.runId);
  }

  async function cancel(runId: string) {
    try {
      await tokens.call((token) => connection.cancel(token, runId));
    } catch (caught) {
      if (closed) return;
      setStopping(false);
      setError(`Could not stop the reply: ${describeError(caught)}`);
    }
  }

  onCleanup(() => {
    closed = true;
    live.close();
    memory.close();
  });

  return {
    messages: conversation.messages,
    status,
    error,
    historyLoaded,
    hasOlder,
    loadingOlder,
    announcement,
    sending,
    stopping,
    memory,
    /** Listen first, then read history: nothing stored in between is missed (ids dedupe). */
    start() {
      void live.connect();
      void loadHistory();
      void memory.load();
    },
    loadOlder,
    send,
    stop,
  };
}

export type ChatSession = ReturnType<typeof createChatSession>;
