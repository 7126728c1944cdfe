import { createEffect, For, on, Show } from 'solid-js';
import type { ChatSession } from '../../lib/chat-session';

/** What the page may ask of the list: scroll to the newest message and keep following. */
export interface MessageListHandle {
  follow(): void;
}

/** The conversation: older history on request, the messages, and scrolling that follows. */
export function MessageList(props: {
  chat: ChatSession;
  ref?: (handle: MessageListHandle) => void;
}) {
  const chat = props.chat;
  let list!: HTMLOListElement;

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
        const shown = chat.messages();
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
  props.ref?.({
    follow: () => {
      following = true;
    },
  });

  async function loadOlder() {
    // What is on screen stays where it was as the older page goes in above it.
    await chat.loadOlder((insert) => {
      const fromBottom = list.scrollHeight - list.scrollTop;
      insert();
      list.scrollTop = list.scrollHeight - fromBottom;
    });
    // The button that had focus is gone once there is nothing older: the conversation's
    // first message, now in its place, takes it (without moving the view). That is the one
    // shown already when the page came back empty (a history a whole number of pages long).
    if (!chat.hasOlder()) {
      const first = list.querySelector<HTMLElement>('.message') ?? list;
      first.setAttribute('tabindex', '-1');
      first.focus({ preventScroll: true });
    }
  }

  return (
    // role="list": Safari drops a list's semantics with its markers (biome.json lets it be).
    <ol
      role="list"
      class="messages"
      ref={list}
      aria-label="Conversation"
      aria-busy={!chat.historyLoaded()}
      onScroll={onScroll}
    >
      <Show when={chat.hasOlder()}>
        <li class="older">
          {/* aria-disabled rather than disabled: a disabled button would drop the focus. */}
          <button
            type="button"
            class="secondary"
            aria-disabled={chat.loadingOlder()}
            onClick={() => loadOlder()}
          >
            {chat.loadingOlder() ? 'Loading…' : 'Load older messages'}
          </button>
        </li>
      </Show>
      <Show when={chat.historyLoaded() && chat.messages().length === 0}>
        <li class="empty">No messages yet. Say hello to your agent.</li>
      </Show>
      <For each={chat.messages()}>
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
  );
}
