import { onMount, Show } from 'solid-js';
import { createChatSession } from '../lib/chat-session';
import type { Connection } from '../lib/live-events';
import type { PageProps } from '../lib/router';
import { createTrpcConnection } from '../lib/trpc-connection';
import { Composer } from './chat/Composer';
import { MessageList, type MessageListHandle } from './chat/MessageList';
import { Header } from './Header';
import './chat/chat.css';

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

/**
 * Start here to change what the chat looks like. This page only lays out its parts
 * (`chat/`); what it shows and does (the live stream, tokens, history, sending) is the chat
 * session in `lib/chat-session.ts`, which talks to the agent through `lib/agent-connection.ts`.
 */
export function ChatPage(props: PageProps) {
  const chat = createChatSession({
    connection: createTrpcConnection(props.user.agentId),
    tokens: props.tokens,
  });
  let list: MessageListHandle | undefined;
  onMount(() => chat.start());

  return (
    <div class="app">
      <Header user={props.user} onLoggedOut={props.onLoggedOut}>
        <span class={`connection ${chat.status()}`} role="status" data-testid="connection">
          {CONNECTION_LABEL[chat.status()]}
        </span>
      </Header>
      <main class="chat" aria-labelledby="chat-title">
        <h1 id="chat-title" class="sr-only">
          Chat with your agent
        </h1>
        <MessageList
          chat={chat}
          ref={(handle) => {
            list = handle;
          }}
        />
        <div class="sr-only" aria-live="polite" data-testid="announcer">
          {chat.announcement()}
        </div>
        <Show when={chat.error()}>
          <p role="alert" class="error banner">
            {chat.error()}
          </p>
        </Show>
        <Composer chat={chat} onSend={() => list?.follow()} />
      </main>
    </div>
  );
}
