import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import { getAgent } from '../src/agents/agent-read.js';
import { createAgent } from '../src/agents/agent-write.js';
import type { ConversationEvent } from '../src/conversation/conversation-events.js';
import { cancelTurn, listMessages, sendMessages } from '../src/conversation/messages.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { type ChatRequest, FakeOpenAI, type ScriptedAnswer } from './support/fake-openai.js';
import { makeDeps, seedOrganization } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const s = useSuite();
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function depsFor(stream: boolean, limits: Partial<ServiceDeps['limits']> = {}): ServiceDeps {
  const runtime = new OpenAIRuntime({
    baseURL: fake.baseURL,
    apiKey: undefined,
    model: 'm',
    stream,
  });
  return makeDeps(s.database, undefined, limits, runtime);
}

async function newAgent(deps: ServiceDeps, blocks = [{ label: 'human', value: '' }]) {
  const agent = await createAgent(deps, {
    organizationId: s.acme.organizationId,
    memory_blocks: blocks,
  });
  return agent.id;
}

const sendTo = (
  deps: ServiceDeps,
  agentId: string,
  content: string,
  onEvent?: (event: ConversationEvent) => void,
) =>
  sendMessages(deps, {
    organizationId: s.acme.organizationId,
    agentId,
    messages: [{ role: 'user', content }],
    ...(onEvent && { onEvent }),
  });

const humanBlock = async (agentId: string) =>
  (await getAgent(s.deps, { organizationId: s.acme.organizationId, agentId })).memoryBlocks.find(
    (b) => b.label === 'human',
  )?.value;

const storedTypes = async (agentId: string) =>
  (
    await s.database.db
      .select({ type: messages.messageType })
      .from(messages)
      .where(eq(messages.agentId, agentId))
      .orderBy(asc(messages.seq))
  ).map((r) => r.type);

const lastMessage = (request: ChatRequest) => request.messages.at(-1);

/** A model that makes `calls` once, then answers "ok" after reading their results. */
const callsOnce =
  (calls: ScriptedAnswer['toolCalls']) =>
  (request: ChatRequest): ScriptedAnswer =>
    lastMessage(request)?.role === 'tool' ? { content: 'ok' } : { toolCalls: calls ?? [] };

describe.each([
  ['streamed', true],
  ['whole', false],
])('a model with memory tools (%s)', (_, stream) => {
  it('learns a fact through memory_insert, keeps it in its block, and answers from it later', async () => {
    const deps = depsFor(stream);
    const agentId = await newAgent(deps);
    fake.reply = (request) => {
      const last = lastMessage(request);
      const system = request.messages[0]?.content ?? '';
      if (last?.role === 'tool') return { content: 'Nice to meet you, Ada.' };
      if (last?.content === 'My name is Ada Lovelace') {
        return {
          reasoning: 'The user told me their name; I should remember it.',
          toolCalls: [
            {
              name: 'memory_insert',
              arguments: JSON.stringify({ label: 'human', new_str: 'Name: Ada Lovelace' }),
            },
          ],
        };
      }
      return system.includes('Name: Ada Lovelace')
        ? 'Your name is Ada Lovelace.'
        : 'I do not know your name.';
    };

    const told = await sendTo(deps, agentId, 'My name is Ada Lovelace');
    expect(told.stop_reason.stop_reason).toBe('end_turn');
    expect(told.usage.step_count).toBe(2);
    expect(told.messages.map((m) => m.message_type)).toEqual([
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    expect(told.messages[1]).toMatchObject({
      tool_call: {
        name: 'memory_insert',
        arguments: JSON.stringify({ label: 'human', new_str: 'Name: Ada Lovelace' }),
      },
    });
    expect(told.messages[2]).toMatchObject({ status: 'success', name: 'memory_insert' });
    expect(await humanBlock(agentId)).toBe('Name: Ada Lovelace');
    // The model was offered the tools, and read the tool's result in its second step.
    expect(fake.requests[0]?.tools?.map((t) => t.function.name)).toEqual([
      'memory_insert',
      'memory_replace',
      'memory_rethink',
      'conversation_search',
    ]);
    const second = fake.requests[1];
    expect(second?.messages.at(-2)?.tool_calls?.[0]?.function.name).toBe('memory_insert');
    expect(lastMessage(second as ChatRequest)).toMatchObject({
      role: 'tool',
      content: 'The memory block human now reads:\nName: Ada Lovelace',
    });

    // A later turn, streamed to a listener as it happens, answers from the block.
    const deltas: string[] = [];
    const asked = await sendTo(deps, agentId, 'What is my name?', (event) => {
      if (event.type === 'delta') deltas.push(event.text);
    });
    expect(asked.messages).toMatchObject([{ content: 'Your name is Ada Lovelace.' }]);
    expect(deltas.join('')).toBe('Your name is Ada Lovelace.');
    // The earlier turn's tool call and result are in the history the model reads.
    expect(fake.requests[2]?.messages.some((m) => m.role === 'tool')).toBe(true);
    const listed = await listMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId,
      order: 'asc',
    });
    expect(listed.map((m) => m.message_type)).toEqual([
      'user_message',
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'user_message',
      'assistant_message',
    ]);
  });

  it.each([
    [
      'an unknown tool',
      { name: 'launch_rockets', arguments: '{}' },
      /^Error: there is no tool named launch_rockets; this agent's tools are memory_insert, /,
    ],
    [
      'malformed arguments',
      { name: 'memory_insert', arguments: '{"label": "human", ' },
      /^Error: the arguments of memory_insert are not valid JSON/,
    ],
    [
      'arguments of the wrong shape',
      { name: 'memory_replace', arguments: '{"label": "human"}' },
      /^Error: bad arguments for memory_replace: old_str: .*; new_str: /,
    ],
    [
      'a write over the block’s limit',
      {
        name: 'memory_insert',
        arguments: JSON.stringify({ label: 'human', new_str: 'x'.repeat(21) }),
      },
      /^Error: the block human would hold 25 characters; its limit is 20\. Nothing was changed$/,
    ],
    [
      'a read-only block',
      {
        name: 'memory_rethink',
        arguments: JSON.stringify({ label: 'persona', new_memory: 'evil' }),
      },
      /^Error: the memory block persona is read-only$/,
    ],
  ])(
    'answers %s with an error result the model reads, and the turn goes on',
    async (_case, call, error) => {
      const deps = depsFor(stream);
      const agentId = await newAgent(deps, [
        { label: 'persona', value: 'kind', read_only: true } as never,
        { label: 'human', value: 'Ada', limit: 20 } as never,
      ]);
      fake.reply = callsOnce([call]);
      const response = await sendTo(deps, agentId, 'go');
      expect(response.stop_reason.stop_reason).toBe('end_turn');
      const result = response.messages.find((m) => m.message_type === 'tool_return_message');
      expect(result).toMatchObject({ status: 'error', tool_return: expect.stringMatching(error) });
      expect(lastMessage(fake.requests[1] as ChatRequest)?.content).toMatch(error);
      expect(await storedTypes(agentId)).toEqual([
        'user_message',
        'tool_call_message',
        'tool_return_message',
        'assistant_message',
      ]);
      const blocks = (await getAgent(s.deps, { organizationId: s.acme.organizationId, agentId }))
        .memoryBlocks;
      expect(blocks.map((b) => b.value)).toEqual(['kind', 'Ada']);
    },
  );

  it('stops a model that never stops calling tools after the turn’s steps, as max_steps', async () => {
    const deps = depsFor(stream, { turnMaxSteps: 3 });
    const agentId = await newAgent(deps);
    fake.reply = () => ({
      toolCalls: [{ name: 'conversation_search', arguments: '{"query":"tea"}' }],
    });
    const response = await sendTo(deps, agentId, 'search forever');
    expect(response.stop_reason).toEqual({
      message_type: 'stop_reason',
      stop_reason: 'max_steps',
      error: 'The agent was still calling tools after 3 steps; the turn was stopped',
    });
    expect(response.usage.step_count).toBe(3);
    expect(fake.requests).toHaveLength(3);
    expect(await storedTypes(agentId)).toEqual([
      'user_message',
      ...Array(3).fill(['tool_call_message', 'tool_return_message']).flat(),
    ]);
  });
});

describe('memory tools', () => {
  it('memory_replace changes the one place, memory_rethink rewrites, conversation_search finds', async () => {
    const deps = depsFor(true);
    const agentId = await newAgent(deps, [{ label: 'human', value: 'likes tea\nlives in London' }]);
    fake.reply = callsOnce([
      {
        name: 'memory_replace',
        arguments: JSON.stringify({ label: 'human', old_str: 'tea', new_str: 'coffee' }),
      },
      { name: 'conversation_search', arguments: JSON.stringify({ query: 'LONDON' }) },
      {
        name: 'memory_insert',
        arguments: JSON.stringify({ label: 'human', new_str: 'is Ada', insert_line: 0 }),
      },
    ]);
    await sendTo(deps, agentId, 'I moved away from London');
    expect(await humanBlock(agentId)).toBe('is Ada\nlikes coffee\nlives in London');
    const found = await s.database.db
      .select({ content: messages.content })
      .from(messages)
      .where(and(eq(messages.agentId, agentId), eq(messages.messageType, 'tool_return_message')));
    expect(JSON.parse(found[1]?.content ?? '')).toMatchObject([
      { role: 'user', content: 'I moved away from London' },
    ]);
    fake.reply = callsOnce([
      { name: 'memory_rethink', arguments: JSON.stringify({ label: 'human', new_memory: 'Ada' }) },
    ]);
    await sendTo(deps, agentId, 'start over');
    expect(await humanBlock(agentId)).toBe('Ada');
  });
});

describe('cancelling a turn', () => {
  it('stops a long reply, keeps what was said so far, and ends the turn as cancelled', async () => {
    const deps = depsFor(true);
    const agentId = await newAgent(deps);
    fake.pieceDelayMs = 20;
    fake.reply = () => 'word '.repeat(200);
    let deltas = 0;
    let cancelled: Promise<Record<string, string>> | undefined;
    const events: ConversationEvent[] = [];
    const response = await sendTo(deps, agentId, 'talk for a long time', (event) => {
      events.push(event);
      if (event.type === 'delta' && ++deltas === 3) {
        cancelled = cancelTurn(deps, { organizationId: s.acme.organizationId, agentId });
      }
    });
    expect(await cancelled).toEqual({ [response.messages[0]?.run_id ?? '']: 'cancelled' });
    expect(response.stop_reason.stop_reason).toBe('cancelled');
    const partial = response.messages[0]?.content ?? '';
    expect(partial.length).toBeGreaterThan(0);
    expect('word '.repeat(200).startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan('word '.repeat(200).length);
    expect(events.at(-1)).toMatchObject({ type: 'stop', stopReason: 'cancelled' });
    expect(await storedTypes(agentId)).toEqual(['user_message', 'assistant_message']);
    // The model's request was given up, not read to the end.
    await expect.poll(() => fake.abandoned).toBe(1);
  });

  it('cancels nothing when no turn runs, and is refused for another organization’s agent', async () => {
    const agentId = await newAgent(s.deps);
    await expect(
      cancelTurn(s.deps, { organizationId: s.acme.organizationId, agentId }),
    ).resolves.toEqual({});
    const globex = await seedOrganization(s.deps, 'globex');
    await expect(
      cancelTurn(s.deps, { organizationId: globex.organizationId, agentId }),
    ).rejects.toThrow(`Agent ${agentId} not found`);
  });
});
