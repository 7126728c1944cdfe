import { createSignal } from 'solid-js';
import type { AgentConnection, MemoryBlock } from './agent-connection';
import type { AgentTokenStore } from './agent-token';
import { describeError, type LettaMessage } from './api';

/** Letta's memory-editing tools: today's `memory_*` and the legacy `core_memory_*`. */
export const isMemoryTool = (name: string) => /^(core_)?memory_/.test(name);

/** A stored message saying the agent's memory changed: one of its memory tools succeeded. */
export const changesMemory = (message: LettaMessage) =>
  message.message_type === 'tool_return_message' &&
  message.status === 'success' &&
  isMemoryTool(message.name);

/**
 * What the agent remembers (its memory blocks), kept current: read once, then again whenever
 * the conversation shows one of its memory tools at work, whichever tab or client caused it
 * (the live stream carries every stored message). Reads never overlap: a change noticed
 * while one is under way reads again once it is done, so the last read is never stale.
 */
export function createAgentMemory(options: {
  connection: AgentConnection;
  tokens: AgentTokenStore;
}) {
  const [blocks, setBlocks] = createSignal<MemoryBlock[]>();
  const [error, setError] = createSignal<string>();
  let reading = false;
  let again = false;
  let closed = false;
  /** A message may come twice (the live stream, the send's answer): one read is enough. */
  const seen = new Set<string>();

  async function load() {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        try {
          const read = await options.tokens.call((token) => options.connection.memory(token));
          if (closed) return;
          setBlocks(read);
          setError(undefined);
        } catch (caught) {
          if (!closed) setError(`Could not read the agent's memory: ${describeError(caught)}`);
        }
      } while (again && !closed);
    } finally {
      reading = false;
    }
  }

  return {
    blocks,
    error,
    load,
    /** Every stored message the chat receives passes here. */
    noticed(message: LettaMessage) {
      if (!changesMemory(message) || seen.has(message.id)) return;
      seen.add(message.id);
      void load();
    },
    close() {
      closed = true;
    },
  };
}

export type AgentMemory = ReturnType<typeof createAgentMemory>;
