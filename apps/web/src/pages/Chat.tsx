import { createEffect, createSignal, For, on, onCleanup, onMount, Show } from 'solid-js';
import type { AgentTokenStore } from '../lib/agent-token';
import {
  createAgentApi,
  describeError,
  isUnauthorized,
  type LettaMessage,
  type User,
} from '../lib/api';
import { createConversation, newOtid } from '../lib/conversation';
import { usePageTitle } from '../lib/title';
import { Header } from './Header';

type Connection = 'connecting' | 'live' | 'reconnecting';

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

/** How long an old stream stays open after its replacement has connected (see `handOver`). */
const HANDOVER_OVERLAP_MS = 2000;
const PAGE_SIZE = 100;

interface Stream {
  token: string;
  started: boolean;
  handle?: { unsubscribe(): void };
}

export function ChatPage(props: {
  user: User;
  tokens: AgentTokenStore;
  onLoggedOut: (message?: string) => void;
}) {
  const tokens = props.tokens;
  const agentId = props.user.agentId;
  usePageTitle(() => 'Chat');

  const conversation = createConversation();
  const [connection, setConnection] = createSignal<Connection>('connecting');
  const [error, setError] = createSignal<string>();
  const [historyLoaded, setHistoryLoaded] = createSignal(false);
  const [hasOlder, setHasOlder] = createSignal(false);
  const [loadingOlder, setLoadingOlder] = createSignal(false);
  const [announcement, setAnnouncement] = createSignal('');
  const [sending, setSending] = createSignal(false);
  const ownOtids = new Set<string>();
  let input!: HTMLTextAreaElement;
  let list!: HTMLOListElement;

  /**
   * A stored message, from whichever path brought it first. New ones are announced to screen
   * readers, except what this tab itself sent (the person just typed it).
   */
  function receive(message: LettaMessage) {
    const isNew = conversation.store(message);
    const own = message.otid ? ownOtids.has(message.otid) : false;
    if (isNew && !own) {
      const who = message.message_type === 'user_message' ? 'You' : 'Agent';
      setAnnouncement(`${who}: ${message.content}`);
    }
  }

  // ---- live stream ---------------------------------------------------------------------
  /** The stream whose position and state count; `retiring` is the one it is replacing. */
  let current: Stream | undefined;
  let retiring: Stream | undefined;
  let lastEventId: string | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retireTimer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  let stopped = false;

  function closeRetiring() {
    clearTimeout(retireTimer);
    retiring?.handle?.unsubscribe();
    retiring = undefined;
  }

  /** Opens the stream with `token` from the last event seen; it becomes the current one. */
  function open(token: string) {
    const stream: Stream = { token, started: false };
    const isCurrent = () => current === stream;
    /** The current stream reconnects; an old one still overlapping stops covering for it. */
    const lost = (cause: unknown) => {
      if (isCurrent()) reconnect(cause);
      else if (retiring === stream) closeRetiring();
    };
    current = stream;
    stream.handle = createAgentApi(token).messages.events.subscribe(
      { agentId, lastEventId },
      {
        onStarted: () => {
          stream.started = true;
          if (!isCurrent()) return;
          attempts = 0;
          setConnection('live');
          // The server listens before it reports the stream connected; the old stream stays
          // a moment longer anyway, a margin for pieces already in flight on it. With no old
          // stream open, nothing covered the time before this one: a reply half-streamed
          // before it cannot be completed piece by piece.
          if (retiring) retireTimer = setTimeout(closeRetiring, HANDOVER_OVERLAP_MS);
          else conversation.dropStreaming();
        },
        onData: ({ id, data: event }) => {
          // Both streams of a handover deliver the same events; ids and piece indexes dedupe.
          if (isCurrent()) lastEventId = id;
          if (event.type === 'message') {
            receive(event.message);
          } else if (event.type === 'delta') {
            conversation.appendDelta(event);
          } else if (event.type === 'stop') {
            conversation.endTurn(event.runId);
            if (event.error && isCurrent()) setError(`The agent could not answer: ${event.error}`);
          }
        },
        onConnectionStateChange: (state) => {
          if (state.state === 'pending' && isCurrent()) setConnection('live');
          else if (state.state === 'connecting' && state.error) lost(state.error);
        },
        onError: (cause) => lost(cause),
        onComplete: () => lost(undefined),
      },
    );
  }

  async function connect() {
    if (stopped) return;
    let token: string;
    try {
      token = await tokens.get();
    } catch (cause) {
      // A session that is gone is handled by the token store; anything else is retried.
      if (!isUnauthorized(cause)) reconnect(cause);
      return;
    }
    if (!stopped) open(token);
  }

  /**
   * The server ends a stream when its token expires, so when the store mints the next token
   * the stream moves to it while the old one is still good: a routine refresh never shows as
   * a dropped connection. (A stream that is already reconnecting picks the new token up by
   * itself.)
   */
  function handOver(token: string) {
    if (stopped || !current || current.token === token) return;
    closeRetiring();
    if (current.started) retiring = current;
    else current.handle?.unsubscribe();
    open(token);
  }

  /**
   * The stream ended or failed: a 401 means the token was revoked or expired, so a new one is
   * minted first. Then subscribe again from the last event seen, backing off while it fails.
   */
  function reconnect(cause: unknown) {
    if (stopped) return;
    const failed = current;
    current = undefined;
    failed?.handle?.unsubscribe();
    closeRetiring();
    setConnection('reconnecting');
    clearTimeout(retryTimer);
    const delay = Math.min(30_000, 500 * 2 ** attempts++);
    retryTimer = setTimeout(async () => {
      if (isUnauthorized(cause) && failed) {
        try {
          await tokens.rejected(failed.token);
        } catch {
          // The session is gone (handled by the token store) or the server is unreachable.
        }
      }
      void connect();
    }, delay);
  }

  // ---- history -------------------------------------------------------------------------
  async function loadHistory() {
    try {
      const page = await tokens.call((token) =>
        createAgentApi(token).messages.list.query({ agentId, limit: PAGE_SIZE, order: 'desc' }),
      );
      for (const message of [...page].reverse()) conversation.store(message);
      // A stored message's event id is its seq. Until the stream has delivered something, the
      // newest message read (or the start, 0) is where a resubscription resumes, so nothing
      // stored while the stream is down or changing tokens is missed.
      lastEventId ??= String(page[0]?.seq_id ?? 0);
      setHasOlder(page.length === PAGE_SIZE);
      setHistoryLoaded(true);
    } catch (caught) {
      if (!stopped) setError(`Could not load the conversation: ${describeError(caught)}`);
    }
  }

  /** The page before the earliest message shown, keeping what is on screen where it was. */
  async function loadOlder() {
    const before = conversation.oldest()?.id;
    if (!before || loadingOlder()) return;
    setLoadingOlder(true);
    setError(undefined);
    try {
      const page = await tokens.call((token) =>
        createAgentApi(token).messages.list.query({
          agentId,
          before,
          limit: PAGE_SIZE,
          // Oldest first, `before` is the page just earlier than what is shown.
          order: 'asc',
        }),
      );
      const fromBottom = list.scrollHeight - list.scrollTop;
      for (const message of page) conversation.store(message);
      list.scrollTop = list.scrollHeight - fromBottom;
      setHasOlder(page.length === PAGE_SIZE);
      setAnnouncement(
        page.length === 0
          ? 'No older messages.'
          : page.length === 1
            ? 'Loaded 1 older message.'
            : `Loaded ${page.length} older messages.`,
      );
      // The button that had focus is gone once there is nothing older: the conversation's
      // first message, now in its place, takes it (without moving the view). That is the one
      // shown already when the page came back empty (a history a whole number of pages long).
      if (!hasOlder()) {
        const first = list.querySelector<HTMLElement>('.message') ?? list;
        first.setAttribute('tabindex', '-1');
        first.focus({ preventScroll: true });
      }
    } catch (caught) {
      setError(`Could not load older messages: ${describeError(caught)}`);
    } finally {
      setLoadingOlder(false);
    }
  }

  onMount(() => {
    // Listen first, then read history: nothing stored in between is missed (ids dedupe).
    const stopListening = tokens.onToken(handOver);
    onCleanup(stopListening);
    void connect();
    void loadHistory();
    input.focus();
  });

  onCleanup(() => {
    stopped = true;
    clearTimeout(retryTimer);
    current?.handle?.unsubscribe();
    closeRetiring();
  });

  // Follow the conversation as messages arrive and replies grow, but only while the reader is
  // at the bottom: someone who scrolled up to read is not pulled away.
  let following = true;
  const onScroll = () => {
    following = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  };
  createEffect(
    on(
      () => {
        // What changes the list's height: a message more or less, or the last one growing.
        const shown = conversation.messages();
        const last = shown[shown.length - 1];
        return [shown.length, last?.content, last?.state];
      },
      () => {
        if (!following) return;
        queueMicrotask(() => {
          list.scrollTop = list.scrollHeight;
        });
      },
    ),
  );

  // ---- sending -------------------------------------------------------------------------
  async function send(event: SubmitEvent) {
    event.preventDefault();
    // One send at a time, however the form was submitted: Enter's requestSubmit() does not
    // care that the button is disabled.
    if (sending()) return;
    const content = input.value.trim();
    if (!content) {
      setError('Type a message first.');
      input.focus();
      return;
    }
    setError(undefined);
    const otid = newOtid();
    ownOtids.add(otid);
    conversation.addLocal(otid, content);
    input.value = '';
    following = true;
    setSending(true);
    try {
      const response = await tokens.call((token) =>
        createAgentApi(token).messages.send.mutate({ agentId, content, otid }),
      );
      conversation.setLocalState(otid, 'stored');
      for (const message of response.messages) receive(message);
      if (response.stop_reason.stop_reason !== 'end_turn')
        setError(`The agent stopped: ${response.stop_reason.stop_reason}`);
    } catch (caught) {
      conversation.setLocalState(otid, 'failed');
      setError(`Not sent: ${describeError(caught)}`);
      if (!input.value) input.value = content;
    } finally {
      setSending(false);
      input.focus();
    }
  }

  function onKeyDown(event: KeyboardEvent) {
    // Enter sends, Shift+Enter starts a new line (and an IME composition is left alone).
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      input.form?.requestSubmit();
    }
  }

  return (
    <div class="app">
      <Header user={props.user} page="chat" onLoggedOut={props.onLoggedOut}>
        <span class={`connection ${connection()}`} role="status" data-testid="connection">
          {CONNECTION_LABEL[connection()]}
        </span>
      </Header>
      <main class="chat" aria-labelledby="chat-title">
        <h1 id="chat-title" class="sr-only">
          Chat with your agent
        </h1>
        {/* role="list": Safari drops a list's semantics with its markers (biome.json lets it be). */}
        <ol
          role="list"
          class="messages"
          ref={list}
          aria-label="Conversation"
          aria-busy={!historyLoaded()}
          onScroll={onScroll}
        >
          <Show when={hasOlder()}>
            <li class="older">
              {/* aria-disabled rather than disabled: a disabled button would drop the focus. */}
              <button
                type="button"
                class="secondary"
                aria-disabled={loadingOlder()}
                onClick={() => loadOlder()}
              >
                {loadingOlder() ? 'Loading…' : 'Load older messages'}
              </button>
            </li>
          </Show>
          <Show when={historyLoaded() && conversation.messages().length === 0}>
            <li class="empty">No messages yet. Say hello to your agent.</li>
          </Show>
          <For each={conversation.messages()}>
            {(message) => (
              <li
                class={`message ${message.role} ${message.state}`}
                data-state={message.state}
                data-message-id={message.id}
              >
                <span class="sr-only">{message.role === 'user' ? 'You:' : 'Agent:'}</span>
                <p>{message.content}</p>
                <Show when={message.state === 'sending'}>
                  <span class="meta">Sending…</span>
                </Show>
                <Show when={message.state === 'failed'}>
                  <span class="meta">Not sent</span>
                </Show>
              </li>
            )}
          </For>
        </ol>
        <div class="sr-only" aria-live="polite" data-testid="announcer">
          {announcement()}
        </div>
        <Show when={error()}>
          <p role="alert" class="error banner">
            {error()}
          </p>
        </Show>
        <form class="composer" onSubmit={send}>
          <label for="message" class="sr-only">
            Message
          </label>
          <textarea
            id="message"
            ref={input}
            rows={2}
            placeholder="Message your agent"
            onKeyDown={onKeyDown}
            maxLength={8000}
          />
          <button type="submit" disabled={sending()}>
            Send
          </button>
        </form>
      </main>
    </div>
  );
}
