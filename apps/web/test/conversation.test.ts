import { describe, expect, it } from 'vitest';
import { textOf } from '../src/lib/conversation';
import { memoryReturn, stored } from './chat-support';

describe('what a message shows', () => {
  it('is one line for a tool, naming whose memory the agent edited, never its JSON', () => {
    expect(textOf(memoryReturn('human'))).toBe('Updated its memory of you');
    expect(textOf(memoryReturn('persona', 'memory_rethink'))).toBe('Updated its persona');
    expect(textOf(memoryReturn('notes', 'memory_replace'))).toBe('Updated its memory (notes)');
    expect(textOf(memoryReturn('human', 'core_memory_append'))).toBe('Updated its memory of you');
    expect(textOf(memoryReturn('human', 'memory_insert', 'error'))).toBe(
      'Could not use memory_insert',
    );
    expect(textOf(memoryReturn('human', 'conversation_search'))).toBe('Searched the conversation');
    expect(textOf(memoryReturn('human', 'web_search'))).toBe('Used web_search');
  });

  it('is nothing for the call itself or reasoning, and the text of anything else', () => {
    expect(textOf(stored({ message_type: 'tool_call_message' } as never))).toBe('');
    expect(textOf(stored({ message_type: 'reasoning_message' } as never))).toBe('');
    expect(textOf(stored({ message_type: 'assistant_message', content: 'hi' }))).toBe('hi');
  });
});
