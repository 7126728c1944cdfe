import { agentApiUrl, agentHost, type LettaMessage } from './api';
import { createLettaConnection } from './letta-connection';
import { createTrpcConnection } from './trpc-connection';

/**
 * Start here to change where the chat's agent lives. The chat (`chat-session.ts`) talks to
 * its agent only through this interface, with two implementations: `trpc-connection.ts`
 * (scopekit's own agent API over tRPC) and `letta-connection.ts` (Letta's REST API, when
 * the server runs with SCOPEKIT_AGENT_HOST=letta). `createAgentConnection` (below) picks
 * the one the session's token is for; the chat, its tokens and its retries stay the same.
 *
 * Every call takes the `ck-let-` token to make it with, so the caller knows which token a
 * refusal was about. A call refused for its token (expired, revoked) fails with an error
 * that `isUnauthorized` (api.ts) recognises: the caller mints a new token and tries again.
 */
export interface AgentConnection {
  /** One page of the conversation's stored messages. */
  history(token: string, page: HistoryPage): Promise<LettaMessage[]>;
  /**
   * Sends one user message and settles when the agent's turn has ended. What the host tells
   * the sender about the turn arrives through `onEvent` before then: scopekit's host answers
   * with the turn's stored messages (the reply's pieces stream on `events`); a host that
   * streams its answer to the sender reports the pieces here as well.
   */
  send(
    token: string,
    message: { content: string; otid: string },
    onEvent: (event: AgentEvent) => void,
  ): Promise<{ stopReason: string }>;
  /**
   * The conversation live, from just after the event `lastEventId` (every event has an id;
   * a stored message's is its `seq_id`). Lasts until `close()` or until `listener.lost`.
   */
  events(token: string, lastEventId: string | undefined, listener: LiveListener): LiveEvents;
  /**
   * Stops the turn `runId` if it is running (Letta's `messages.cancel`): what the agent said
   * so far is kept, and that turn's send settles with the stop reason `cancelled`.
   */
  cancel(token: string, runId: string): Promise<void>;
  /** The agent's memory blocks, as they are now. */
  memory(token: string): Promise<MemoryBlock[]>;
  /** The agent's name, as it is now. */
  agentName(token: string): Promise<string>;
}

/** One block of the agent's memory: `human` is what it knows of the person, `persona` itself. */
export interface MemoryBlock {
  label: string;
  value: string;
}

export interface HistoryPage {
  limit: number;
  /** `desc` for the newest page; `asc` with `before` for the page just earlier than it. */
  order: 'asc' | 'desc';
  before?: string;
}

/**
 * What the conversation brings: a stored message; the next piece of a reply still being
 * produced (`index` counts the pieces of one message from 0); the end of a turn.
 */
export type AgentEvent =
  | { type: 'message'; message: LettaMessage }
  | { type: 'delta'; messageId: string; runId: string; index: number; text: string }
  | { type: 'stop'; runId: string; error?: string };

export interface LiveListener {
  /** The connection is up (again): the person may be told the chat is live. */
  connected(): void;
  /** The host is listening: nothing stored from now on will be missed. */
  started(): void;
  event(id: string, event: AgentEvent): void;
  /** The stream ended (`cause` undefined) or failed; it will say nothing more. */
  lost(cause: unknown): void;
}

export interface LiveEvents {
  close(): void;
}

/**
 * The connection to `agentId` on whichever host the session's latest token is for (its
 * `agentHost`): every call is made with a token, so the host is known by then.
 */
export function createAgentConnection(agentId: string): AgentConnection {
  const trpc = createTrpcConnection(agentId);
  const letta = createLettaConnection(agentId, agentApiUrl);
  const pick = () => (agentHost() === 'letta' ? letta : trpc);
  return {
    history: (token, page) => pick().history(token, page),
    send: (token, message, onEvent) => pick().send(token, message, onEvent),
    events: (token, lastEventId, listener) => pick().events(token, lastEventId, listener),
    cancel: (token, runId) => pick().cancel(token, runId),
    memory: (token) => pick().memory(token),
    agentName: (token) => pick().agentName(token),
  };
}
