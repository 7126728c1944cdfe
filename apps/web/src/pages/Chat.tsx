import { createEffect, createSignal, For, on, onCleanup, onMount, Show } from 'solid-js';
import { AgentTokenStore } from '../lib/agent-token';
import {
  createAgentApi,
  describeError,
  isUnauthorized,
  type LettaMessage,
  sessionApi,
  type User,
} from '../lib/api';
import { createConversation, newOtid } from '../lib/conversation';
import { Header } from './Header';

type Connection = 'connecting' | 'live' | 'reconnecting';

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

export function ChatPage(props: { user: User; onLoggedOut: (message?: string) => void }) {
  const tokens = new AgentTokenStore(() =>
    props.onLoggedOut('Your session has ended. Log in again.'),
  );
  /** The token each call was made with, so a 401 drops that one and not a newer one. */
  let lastBearer = '';
  const api = createAgentApi(async () => {
    lastBearer = (await tokens.get()).token;
    return lastBearer;
  });
  const agentId = props.user.agentId;

  /** A call to the agent; on 401 (revoked or expired token) it re-mints once and retries. */
  async function withToken<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
      await tokens.rejected(lastBearer);
      return call();
    }
  }

  const conversation = createConversation();
  const [connection, setConnection] = createSignal<Connection>('connecting');
  const [error, setError] = createSignal<string>();
  const [historyLoaded, setHistoryLoaded] = createSignal(false);
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
  let lastEventId: string | undefined;
  let subscription: { unsubscribe(): void } | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  let stopped = false;

  function subscribe() {
    if (stopped) return;
    subscription?.unsubscribe();
    subscription = api.messages.events.subscribe(
      { agentId, lastEventId },
      {
        onStarted: () => {
          attempts = 0;
          setConnection('live');
        },
        onData: ({ id, data: event }) => {
          lastEventId = id;
          if (event.type === 'message') {
            receive(event.message);
          } else if (event.type === 'delta') {
            conversation.appendDelta(event.messageId, event.text);
          } else if (event.type === 'stop' && event.error) {
            conversation.endStreaming();
            setError(`The agent could not answer: ${event.error}`);
          }
        },
        onConnectionStateChange: (state) => {
          if (state.state === 'pending') setConnection('live');
          else if (state.state === 'connecting' && state.error) reconnect(state.error);
        },
        onError: (cause) => reconnect(cause),
        onComplete: () => reconnect(undefined),
      },
    );
  }

  /**
   * The stream ended or failed: a 401 means the token was revoked or expired, so a new one is
   * minted first. Then subscribe again from the last event seen, backing off while it fails.
   */
  function reconnect(cause: unknown) {
    if (stopped) return;
    subscription?.unsubscribe();
    subscription = undefined;
    setConnection('reconnecting');
    clearTimeout(retryTimer);
    const delay = Math.min(30_000, 500 * 2 ** attempts++);
    retryTimer = setTimeout(async () => {
      if (isUnauthorized(cause)) {
        try {
          await tokens.rejected(lastBearer);
        } catch {
          // The session is gone (handled by the token store) or the server is unreachable.
        }
      }
      subscribe();
    }, delay);
  }

  // ---- history -------------------------------------------------------------------------
  async function loadHistory() {
    try {
      const page = await withToken(() =>
        api.messages.list.query({ agentId, limit: 100, order: 'desc' }),
      );
      for (const message of [...page].reverse()) conversation.store(message);
      setHistoryLoaded(true);
    } catch (caught) {
      if (!stopped) setError(`Could not load the conversation: ${describeError(caught)}`);
    }
  }

  onMount(() => {
    // Listen first, then read history: nothing stored in between is missed (ids dedupe).
    subscribe();
    void loadHistory();
    input.focus();
  });

  onCleanup(() => {
    stopped = true;
    clearTimeout(retryTimer);
    subscription?.unsubscribe();
    tokens.close();
  });

  // Keep the newest message in view as messages arrive and replies grow.
  createEffect(
    on(conversation.messages, () => {
      queueMicrotask(() => list.lastElementChild?.scrollIntoView({ block: 'end' }));
    }),
  );

  // ---- sending -------------------------------------------------------------------------
  async function send(event: SubmitEvent) {
    event.preventDefault();
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
    setSending(true);
    try {
      const response = await withToken(() => api.messages.send.mutate({ agentId, content, otid }));
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

  async function logOut() {
    stopped = true;
    subscription?.unsubscribe();
    tokens.close();
    try {
      await sessionApi.session.logOut.mutate();
    } finally {
      props.onLoggedOut('You have logged out.');
    }
  }

  return (
    <div class="app">
      <Header user={props.user} page="chat" onLogOut={logOut}>
        <span class={`connection ${connection()}`} role="status" data-testid="connection">
          {CONNECTION_LABEL[connection()]}
        </span>
      </Header>
      <main class="chat" aria-labelledby="chat-title">
        <h1 id="chat-title" class="sr-only">
          Chat with your agent
        </h1>
        <ol class="messages" ref={list} aria-label="Conversation" aria-busy={!historyLoaded()}>
          <Show when={historyLoaded() && conversation.messages().length === 0}>
            <li class="empty">No messages yet. Say hello to your agent.</li>
          </Show>
          <For each={conversation.messages()}>
            {(message) => (
              <li class={`message ${message.role} ${message.state}`} data-state={message.state}>
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
