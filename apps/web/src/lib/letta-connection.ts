import type { AgentState } from '@letta-ai/letta-client/resources/agents/agents';
import type {
  LettaStreamingResponse,
  Message,
} from '@letta-ai/letta-client/resources/agents/messages';
import type { AgentConnection, AgentEvent } from './agent-connection';
import { AgentHttpError, errorOf, sseEvents } from './agent-http';
import type { LettaMessage } from './api';

/**
 * The agent connection to Letta's own REST API (the server runs with
 * SCOPEKIT_AGENT_HOST=letta, and the browser's token was minted at Letta): the same calls as
 * `trpc-connection.ts`, spoken as Letta's SDK would, straight from the browser with only the
 * `ck-let-` token. Types come from the official SDK, imported as types only (the bundle stays
 * small). Letta has no live stream of the conversation for a client-side token, so `events`
 * reports itself live and says nothing more: another tab's messages show after a reload.
 */
export function createLettaConnection(agentId: string, baseUrl: () => string): AgentConnection {
  /**
   * Messages sent and streamed here get positions after everything read so far: a Letta
   * message may carry no `seq_id`, and a streamed piece's is not the stored message's.
   */
  let lastSeq = 0;
  const nextSeq = () => ++lastSeq;

  async function call(token: string, path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(`${baseUrl()}/v1/agents/${encodeURIComponent(agentId)}${path}`, {
      ...init,
      credentials: 'omit',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /** Letta's message as the chat reads it: text content, and a position. */
  function toChat(message: Message | LettaStreamingResponse, seq?: number): LettaMessage {
    const m = message as Message & { content?: unknown; seq_id?: number | null };
    const position = seq ?? m.seq_id ?? Date.parse(m.date);
    lastSeq = Math.max(lastSeq, position);
    return { ...m, content: textContent(m.content), seq_id: position } as unknown as LettaMessage;
  }

  return {
    async history(token, page) {
      const query = new URLSearchParams({ limit: String(page.limit), order: page.order });
      if (page.before) query.set('before', page.before);
      const messages = (await (await call(token, `/messages?${query}`)).json()) as Message[];
      return messages.map((message) => toChat(message));
    },

    async send(token, { content, otid }, onEvent) {
      const response = await call(token, '/messages/stream', {
        method: 'POST',
        body: JSON.stringify({
          messages: [{ role: 'user', content, otid }],
          stream_tokens: true,
        }),
      });
      if (!response.body) throw new AgentHttpError(502, 'The agent host sent no reply');
      // The user's own message is not echoed; it is reported once the turn names its run.
      let sent = false;
      let runId = '';
      let stopReason = 'end_turn';
      let error: string | undefined;
      /** Each reply being streamed: its text so far, its position, pieces seen. */
      const replies = new Map<string, { text: string; seq: number; pieces: number }>();
      const report = (event: AgentEvent) => onEvent(event);
      for await (const { data, error: isError } of sseEvents(response.body)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data) as LettaStreamingResponse & Record<string, unknown>;
        if (isError) {
          error = typeof chunk.message === 'string' ? chunk.message : 'The agent host failed';
          continue;
        }
        const type = chunk.message_type;
        if (type === 'stop_reason') {
          stopReason = String(chunk.stop_reason);
          continue;
        }
        if (type === 'ping' || type === 'usage_statistics' || !('id' in chunk)) continue;
        if (!sent && typeof chunk.run_id === 'string') {
          runId = chunk.run_id;
          sent = true;
          report({ type: 'message', message: userMessage(content, otid, runId, nextSeq()) });
        }
        if (type === 'assistant_message') {
          const id = String(chunk.id);
          const reply = replies.get(id) ?? { text: '', seq: nextSeq(), pieces: 0 };
          replies.set(id, reply);
          const text = textContent(chunk.content);
          reply.text += text;
          report({ type: 'delta', messageId: id, runId, index: reply.pieces++, text });
        } else {
          report({ type: 'message', message: toChat(chunk, nextSeq()) });
        }
      }
      // Each reply whole, as it is now stored at Letta; then the turn's end.
      for (const [id, reply] of replies) {
        const message = {
          id,
          date: new Date().toISOString(),
          message_type: 'assistant_message',
          content: reply.text,
          run_id: runId,
          otid: null,
        } as unknown as Message;
        report({ type: 'message', message: toChat(message, reply.seq) });
      }
      report({ type: 'stop', runId, ...(error ? { error } : {}) });
      return { stopReason: error && stopReason === 'end_turn' ? 'error' : stopReason };
    },

    events(_token, _lastEventId, listener) {
      // Nothing to listen to: see above. Reported live so the chat does not wait for it.
      queueMicrotask(() => {
        listener.connected();
        listener.started();
      });
      return { close() {} };
    },

    async cancel(token, runId) {
      await call(token, '/messages/cancel', {
        method: 'POST',
        body: JSON.stringify({ run_ids: [runId] }),
      });
    },

    async memory(token) {
      const agent = (await (await call(token, '')).json()) as AgentState;
      return agent.blocks.map(({ label, value }) => ({ label: label ?? '', value }));
    },

    async agentName(token) {
      const agent = (await (await call(token, '')).json()) as AgentState;
      return agent.name;
    },
  };
}

function userMessage(content: string, otid: string, runId: string, seq: number): LettaMessage {
  return {
    id: `sent-${otid}`,
    date: new Date().toISOString(),
    message_type: 'user_message',
    content,
    otid,
    run_id: runId,
    seq_id: seq,
  } as unknown as LettaMessage;
}

/** Letta's content is text, or a list of parts of which the text ones are shown. */
function textContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) =>
      part.type === 'text' ? (part.text ?? '') : '',
    )
    .join('');
}
