import { describe, expect, it, vi } from 'vitest';
import { createAgentMemory } from '../src/lib/agent-memory';
import { deferred, fakeConnection, memoryReturn, stored, tokenStore } from './chat-support';

describe('the agent memory the chat shows', () => {
  it('reads again when a memory tool succeeds, once per message, never for anything else', async () => {
    const fake = fakeConnection();
    const tokens = tokenStore();
    const memory = createAgentMemory({ connection: fake.connection, tokens });
    await memory.load();
    expect(memory.blocks()).toEqual([{ label: 'human', value: '' }]);

    fake.memory = [{ label: 'human', value: '- likes tea' }];
    const edit = memoryReturn('human');
    memory.noticed(stored({ message_type: 'assistant_message', content: 'hello' }));
    memory.noticed(memoryReturn('human', 'memory_insert', 'error'));
    memory.noticed(memoryReturn('human', 'conversation_search'));
    expect(fake.memoryReads).toBe(1);
    memory.noticed(edit);
    // The same message again (the send's answer after the live stream) reads nothing more.
    memory.noticed(edit);
    await vi.waitFor(() => expect(memory.blocks()).toEqual(fake.memory));
    expect(fake.memoryReads).toBe(2);
    // Letta's legacy memory tools change memory too.
    fake.memory = [{ label: 'human', value: '- likes tea\n- lives in Paris' }];
    memory.noticed(memoryReturn('human', 'core_memory_append'));
    await vi.waitFor(() => expect(memory.blocks()).toEqual(fake.memory));
    expect(fake.memoryReads).toBe(3);
    tokens.close();
  });

  it('never reads twice at once, and reads once more after a change seen mid-read', async () => {
    const fake = fakeConnection();
    const tokens = tokenStore();
    const memory = createAgentMemory({ connection: fake.connection, tokens });
    const gate = deferred<void>();
    fake.memoryGate = gate.promise;
    const first = memory.load();
    await vi.waitFor(() => expect(fake.memoryReads).toBe(1));
    memory.noticed(memoryReturn('human'));
    memory.noticed(memoryReturn('persona'));
    fake.memory = [{ label: 'human', value: 'changed meanwhile' }];
    gate.resolve();
    await first;
    expect(fake.memoryReads).toBe(2);
    expect(memory.blocks()).toEqual(fake.memory);
    tokens.close();
  });
});
