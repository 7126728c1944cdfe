import type {
  AgentConnection,
  AgentEvent,
  LiveListener,
  MemoryBlock,
} from '../src/lib/agent-connection';
import { AgentTokenStore } from '../src/lib/agent-token';
import type { LettaMessage } from '../src/lib/api';

/** A stored message of the wire shape, with what a test does not care about filled in. */
export function stored(fields: Partial<LettaMessage> & Pick<LettaMessage, 'message_type'>) {
  return {
    id: `message-${Math.random()}`,
    date: new Date(0).toISOString(),
    otid: null,
    run_id: 'run-1',
    seq_id: 1,
    content: '',
    ...fields,
  } as LettaMessage;
}

export const memoryReturn = (block: string, name = 'memory_insert', status = 'success') =>
  stored({
    message_type: 'tool_return_message',
    name,
    status,
    tool_call_id: 'call-1',
    tool_return: `The memory block ${block} now reads:\n- likes tea`,
    tool_returns: [],
  } as Partial<LettaMessage> as LettaMessage);

/** Resolvers a test settles by hand, to look while a call is under way. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * An agent connection a test drives: sends wait until `finish` settles them, the live stream
 * is `listener`, and every cancel and memory read is recorded.
 */
export function fakeConnection() {
  const fake = {
    listener: undefined as LiveListener | undefined,
    sends: [] as { otid: string; finish: (stopReason: string) => void }[],
    cancels: [] as string[],
    memoryReads: 0,
    memory: [{ label: 'human', value: '' }] as MemoryBlock[],
    /** When set, memory reads wait for it. */
    memoryGate: undefined as Promise<void> | undefined,
    connection: undefined as unknown as AgentConnection,
    /** A stored message, as the live stream brings it. */
    live(message: LettaMessage) {
      fake.listener?.event(String(message.seq_id), { type: 'message', message } as AgentEvent);
    },
  };
  fake.connection = {
    history: async () => [],
    send(_token, { otid }) {
      const done = deferred<{ stopReason: string }>();
      fake.sends.push({ otid, finish: (stopReason) => done.resolve({ stopReason }) });
      return done.promise;
    },
    events(_token, _lastEventId, listener) {
      fake.listener = listener;
      listener.started();
      return { close() {} };
    },
    async cancel(_token, runId) {
      fake.cancels.push(runId);
    },
    agentName: async () => 'agent',
    async memory() {
      fake.memoryReads += 1;
      await fake.memoryGate;
      return fake.memory.map((b) => ({ ...b }));
    },
  };
  return fake;
}

export const tokenStore = () =>
  new AgentTokenStore(
    async () => ({ token: 'ck-let-1', expiresIn: 600 }),
    () => undefined,
  );
