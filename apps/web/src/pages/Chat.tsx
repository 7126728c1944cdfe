import { createSignal, onMount, Show } from 'solid-js';
import { createAgentConnection } from '../lib/agent-connection';
import { agentHost, describeError, isUnauthorized, sessionApi } from '../lib/api';
import { createChatSession } from '../lib/chat-session';
import type { Connection } from '../lib/live-events';
import type { PageProps } from '../lib/router';
import { Composer } from './chat/Composer';
import { MemoryPanel } from './chat/MemoryPanel';
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
 * The agent's name is the one control kept here: it is the README's worked example.
 */
export function ChatPage(props: PageProps) {
  const connection = createAgentConnection(props.user.agentId);
  const chat = createChatSession({
    connection,
    tokens: props.tokens,
  });
  let list: MessageListHandle | undefined;
  const [agentName, setAgentName] = createSignal('');
  const [renamed, setRenamed] = createSignal<{ ok: boolean; text: string }>();
  onMount(() => {
    chat.start();
    // Only a nicety: when the server cannot be reached, the chat itself says so.
    props.tokens
      .call((token) => connection.agentName(token))
      .then(
        (name) => setAgentName(name),
        () => undefined,
      );
  });

  /** Through the session, not the token: the browser's token cannot write the agent. */
  async function renameAgent(event: SubmitEvent) {
    event.preventDefault();
    try {
      const agent = await sessionApi.session.renameAgent.mutate({ name: agentName() });
      setAgentName(agent.name);
      setRenamed({ ok: true, text: `Your agent is now called ${agent.name}.` });
    } catch (error) {
      if (isUnauthorized(error)) props.onLoggedOut('Your session has ended. Log in again.');
      else setRenamed({ ok: false, text: describeError(error) });
    }
  }

  return (
    <div class="app">
      <Header user={props.user} onLoggedOut={props.onLoggedOut}>
        <span class={`connection ${chat.status()}`} role="status" data-testid="connection">
          {CONNECTION_LABEL[chat.status()]}
        </span>
        {/* Live updates across tabs come from scopekit's own agent host, not Letta's API. */}
        <Show when={agentHost() === 'letta'}>
          <span class="connection" data-testid="letta-host">
            On Letta: other tabs' messages show after a reload
          </span>
        </Show>
      </Header>
      <main class="chat" aria-labelledby="chat-title">
        <h1 id="chat-title" class="sr-only">
          Chat with your agent
        </h1>
        {/* Its one rule inline, so the example stays within Chat.tsx (set through the CSSOM,
            which the server's style-src 'self' allows). */}
        <form class="composer" style={{ 'padding-top': '0.75rem' }} onSubmit={renameAgent}>
          <label for="agent-name" class="sr-only">
            Agent name
          </label>
          <input
            id="agent-name"
            value={agentName()}
            onInput={(event) => setAgentName(event.currentTarget.value)}
            maxLength={200}
          />
          <button type="submit" class="secondary">
            Rename
          </button>
        </form>
        <Show when={renamed()}>
          {(result) => (
            <p class={result().ok ? 'notice' : 'error'} role={result().ok ? 'status' : 'alert'}>
              {result().text}
            </p>
          )}
        </Show>
        <MemoryPanel memory={chat.memory} />
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
