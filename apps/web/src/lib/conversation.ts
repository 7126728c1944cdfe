import { createStore, reconcile, unwrap } from 'solid-js/store';
import { isMemoryTool } from './agent-memory';
import type { LettaMessage } from './api';

export interface ChatMessage {
  id: string;
  /** `tool`: one line saying what the agent did with a tool, not a message of its own. */
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  /** Position in the conversation; absent while a message is only local or still streaming. */
  seq?: number;
  otid?: string | null;
  state: 'stored' | 'sending' | 'failed' | 'streaming';
  /** For a reply streaming in: the turn producing it, and the index of the next piece expected. */
  runId?: string;
  nextPiece?: number;
}

const ROLES: Partial<Record<LettaMessage['message_type'], ChatMessage['role']>> = {
  user_message: 'user',
  assistant_message: 'assistant',
  tool_return_message: 'tool',
};
const roleOf = (type: LettaMessage['message_type']) => ROLES[type] ?? 'system';

/** Whose memory a block holds, as the activity line says it. */
const MEMORY_OF: Record<string, string> = { human: 'its memory of you', persona: 'its persona' };

/**
 * The line for a tool's result. A memory tool's names the block it wrote (its result starts
 * "The memory block <label> now reads:", see the server's memory-tools.ts).
 */
function activityOf(result: { name: string; status: string; tool_return: string }): string {
  if (result.status === 'error') return `Could not use ${result.name}`;
  if (result.name === 'conversation_search') return 'Searched the conversation';
  if (!isMemoryTool(result.name)) return `Used ${result.name}`;
  const label = /^The memory block (\S+) now reads:/.exec(result.tool_return)?.[1];
  if (!label) return 'Updated its memory';
  return `Updated ${MEMORY_OF[label] ?? `its memory (${label})`}`;
}

/**
 * What a message shows: its text, or for the agent's tool activity one compact line (the
 * call itself and the model's reasoning are not shown; the result says what happened).
 */
export function textOf(message: LettaMessage): string {
  switch (message.message_type) {
    case 'tool_return_message':
      return activityOf(message);
    case 'tool_call_message':
    case 'reasoning_message':
      return '';
    default:
      return message.content;
  }
}

const order = (a: ChatMessage, b: ChatMessage) =>
  (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER);

/**
 * The conversation as this tab sees it: stored messages in `seq` order, then what is still
 * in flight (a message being sent, a reply streaming in). The same message may arrive from
 * history, from the live stream and from the send response; it is kept once, by id, and a
 * sent message's local copy is matched by the `otid` it was sent with.
 *
 * The list is a store reconciled by id, so a message keeps its object, and its element on
 * screen, while it changes: a reply growing piece by piece, or becoming stored, is the same
 * element throughout (a selection in it or a screen reader's place stays put).
 */
export function createConversation() {
  const [state, setState] = createStore<{ messages: ChatMessage[] }>({ messages: [] });
  const update = (change: (list: readonly ChatMessage[]) => ChatMessage[]) =>
    setState('messages', reconcile(change(unwrap(state.messages)), { key: 'id' }));

  /** Adds or replaces a stored message; true when it was not known before. */
  function store(message: LettaMessage): boolean {
    const content = textOf(message);
    if (content === '') return false;
    let isNew = true;
    update((list) => {
      const next = list.filter((m) => {
        const same = m.id === message.id || (message.otid && m.otid === message.otid);
        if (same && m.state === 'stored') isNew = false;
        return !same;
      });
      next.push({
        id: message.id,
        role: roleOf(message.message_type),
        content,
        seq: message.seq_id,
        otid: message.otid,
        state: 'stored',
      });
      return next.sort(order);
    });
    return isNew;
  }

  /**
   * The next piece of a reply being produced; ignored once the reply is stored. While a stream
   * hands over to a new token, two streams deliver the same pieces: their index keeps each once.
   * A reply whose first piece this tab never saw (it started while the stream was down) is
   * left out until it is stored whole, rather than shown without its beginning.
   */
  function appendDelta(delta: { messageId: string; runId: string; index: number; text: string }) {
    const at = state.messages.findIndex((m) => m.id === delta.messageId);
    const existing = state.messages[at];
    if (!existing) {
      if (delta.index !== 0) return;
      setState('messages', state.messages.length, {
        id: delta.messageId,
        role: 'assistant',
        content: delta.text,
        state: 'streaming',
        runId: delta.runId,
        nextPiece: 1,
      });
      return;
    }
    if (existing.state !== 'streaming' || delta.index !== existing.nextPiece) return;
    setState('messages', at, {
      content: existing.content + delta.text,
      nextPiece: delta.index + 1,
    });
  }

  /**
   * A turn ended. Its reply, if it produced one, was stored just before (and replaced what
   * streamed in), so whatever of the turn is still streaming is a reply that will never be
   * stored: it failed, or it was empty.
   */
  function endTurn(runId: string) {
    update((list) => list.filter((m) => !(m.state === 'streaming' && m.runId === runId)));
  }

  /**
   * The live stream restarted after a gap: pieces sent meanwhile are not replayed (stored
   * messages are), and a turn that ended meanwhile will not say so. What was streaming is
   * dropped; each such reply comes back whole if it was, or will be, stored.
   */
  function dropStreaming() {
    update((list) => list.filter((m) => m.state !== 'streaming'));
  }

  /** The earliest stored message, where a page of older history ends. */
  const oldest = () => state.messages.find((m) => m.state === 'stored' && m.seq !== undefined);

  function addLocal(otid: string, content: string) {
    setState('messages', state.messages.length, {
      id: `local-${otid}`,
      otid,
      role: 'user',
      content,
      state: 'sending',
    });
  }

  function setLocalState(otid: string, localState: 'failed' | 'stored') {
    setState('messages', (m) => m.otid === otid && m.state === 'sending', 'state', localState);
  }

  return {
    messages: () => state.messages,
    store,
    appendDelta,
    endTurn,
    dropStreaming,
    oldest,
    addLocal,
    setLocalState,
  };
}

/** An id for a message this tab sends; works outside secure contexts too. */
export function newOtid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `otid-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
