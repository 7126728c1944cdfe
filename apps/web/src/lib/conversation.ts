import { createSignal } from 'solid-js';
import type { LettaMessage } from './api';

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  /** Position in the conversation; absent while a message is only local or still streaming. */
  seq?: number;
  otid?: string | null;
  date?: string;
  state: 'stored' | 'sending' | 'failed' | 'streaming';
  /** For a reply streaming in: the index of the next piece expected. */
  nextPiece?: number;
}

const roleOf = (type: LettaMessage['message_type']): ChatMessage['role'] =>
  type === 'user_message' ? 'user' : type === 'assistant_message' ? 'assistant' : 'system';

const order = (a: ChatMessage, b: ChatMessage) =>
  (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER);

/**
 * The conversation as this tab sees it: stored messages in `seq` order, then what is still
 * in flight (a message being sent, a reply streaming in). The same message may arrive from
 * history, from the live stream and from the send response; it is kept once, by id, and a
 * sent message's local copy is matched by the `otid` it was sent with.
 */
export function createConversation() {
  const [messages, setMessages] = createSignal<ChatMessage[]>([]);

  /** Adds or replaces a stored message; true when it was not known before. */
  function store(message: LettaMessage): boolean {
    let isNew = true;
    setMessages((list) => {
      const next = list.filter((m) => {
        const same = m.id === message.id || (message.otid && m.otid === message.otid);
        if (same && m.state === 'stored') isNew = false;
        return !same;
      });
      next.push({
        id: message.id,
        role: roleOf(message.message_type),
        content: message.content,
        seq: message.seq_id,
        otid: message.otid,
        date: message.date,
        state: 'stored',
      });
      return next.sort(order);
    });
    return isNew;
  }

  /**
   * The next piece of a reply being produced; ignored once the reply is stored. While a stream
   * hands over to a new token, two streams deliver the same pieces: their index keeps each once.
   */
  function appendDelta(messageId: string, index: number, text: string) {
    setMessages((list) => {
      const at = list.findIndex((m) => m.id === messageId);
      const existing = list[at];
      if (existing?.state === 'stored') return list;
      if (!existing) {
        const piece: ChatMessage = {
          id: messageId,
          role: 'assistant',
          content: text,
          state: 'streaming',
          nextPiece: index + 1,
        };
        return [...list, piece];
      }
      if (index < (existing.nextPiece ?? 0)) return list;
      const next = [...list];
      next[at] = { ...existing, content: existing.content + text, nextPiece: index + 1 };
      return next;
    });
  }

  /** The earliest stored message, where a page of older history ends. */
  const oldest = () => messages().find((m) => m.state === 'stored' && m.seq !== undefined);

  function addLocal(otid: string, content: string) {
    setMessages((list) => [
      ...list,
      { id: `local-${otid}`, otid, role: 'user', content, state: 'sending' },
    ]);
  }

  function setLocalState(otid: string, state: 'failed' | 'stored') {
    setMessages((list) =>
      list.map((m) => (m.otid === otid && m.state === 'sending' ? { ...m, state } : m)),
    );
  }

  /** A reply that stopped without being stored (an error) must not stay "streaming". */
  function endStreaming() {
    setMessages((list) => list.filter((m) => m.state !== 'streaming'));
  }

  return { messages, store, appendDelta, oldest, addLocal, setLocalState, endStreaming };
}

/** An id for a message this tab sends; works outside secure contexts too. */
export function newOtid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `otid-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
