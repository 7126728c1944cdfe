import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BuiltinRuntime } from '../src/agent-runtime/builtin.js';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import { getAgent } from '../src/agents/agent-read.js';
import { setAgentTool } from '../src/agents/agent-tools.js';
import { createAgent } from '../src/agents/agent-write.js';
import { findToolByName, toolId, toToolState } from '../src/agents/tool-catalog.js';
import { sendMessages } from '../src/conversation/messages.js';
import type { ServiceDeps } from '../src/deps.js';
import { type ChatRequest, FakeOpenAI, type ScriptedAnswer } from './support/fake-openai.js';
import { makeDeps } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const s = useSuite();
let fake: FakeOpenAI;
let deps: ServiceDeps;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  deps = makeDeps(
    s.database,
    undefined,
    {},
    new OpenAIRuntime({ baseURL: fake.baseURL, apiKey: undefined, model: 'm', stream: true }),
  );
});

const newAgent = async (input: { include_base_tools?: boolean; tools?: string[] } = {}) =>
  (
    await createAgent(deps, {
      organizationId: s.acme.organizationId,
      memory_blocks: [{ label: 'human', value: 'likes tea\nlikes tea cakes' }],
      ...input,
    })
  ).id;

const send = (agentId: string, content: string, on = deps) =>
  sendMessages(on, {
    organizationId: s.acme.organizationId,
    agentId,
    messages: [{ role: 'user', content }],
  });

const human = async (agentId: string) =>
  (await getAgent(s.deps, { organizationId: s.acme.organizationId, agentId })).memoryBlocks[0]
    ?.value;

/** A model that makes `call` once, then answers "ok" after reading its result. */
const callsOnce =
  (name: string, args: object) =>
  (request: ChatRequest): ScriptedAnswer =>
    request.messages.at(-1)?.role === 'tool'
      ? { content: 'ok' }
      : { toolCalls: [{ name, arguments: JSON.stringify(args) }] };

const offered = (request: ChatRequest | undefined) =>
  request?.tools?.map((t) => t.function.name) ?? [];

const toolResult = (response: Awaited<ReturnType<typeof send>>) =>
  response.messages.find((m) => m.message_type === 'tool_return_message');

describe('the tools a turn offers the model', () => {
  it('are the agent’s attached tools, shown as the tools API declares them', async () => {
    const agentId = await newAgent({ tools: ['core_memory_append'] });
    await send(agentId, 'hello');
    const tools = fake.requests[0]?.tools ?? [];
    expect(tools.map((t) => t.function.name)).toEqual([
      'memory_insert',
      'memory_replace',
      'memory_rethink',
      'core_memory_append',
      'conversation_search',
    ]);
    for (const { function: shown } of tools) {
      const declared = toToolState(findToolByName(shown.name) ?? expect.fail(shown.name));
      expect(shown).toEqual({
        name: declared.name,
        description: declared.description,
        parameters: declared.json_schema.parameters,
      });
      expect(shown.parameters).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(tools[0]?.function.parameters).toEqual({
      type: 'object',
      properties: {
        label: expect.objectContaining({ type: 'string' }),
        new_str: expect.objectContaining({ type: 'string' }),
        insert_line: {
          type: 'integer',
          minimum: -1,
          default: -1,
          description:
            'How many of the block’s lines stay above the new text: 0 inserts at the top, -1 (the default) at the end.',
        },
      },
      required: ['label', 'new_str'],
      additionalProperties: false,
    });
  });

  it('are none for an agent with its memory tools detached, and a call anyway is refused', async () => {
    const agentId = await newAgent({ include_base_tools: false });
    fake.reply = callsOnce('memory_insert', { label: 'human', new_str: 'x' });
    const response = await send(agentId, 'remember x');
    expect(fake.requests[0]).not.toHaveProperty('tools');
    expect(response.stop_reason.stop_reason).toBe('end_turn');
    expect(toolResult(response)).toMatchObject({
      status: 'error',
      tool_return: "Error: the tool memory_insert is not attached; this agent's tools are none",
    });
    expect(await human(agentId)).toBe('likes tea\nlikes tea cakes');
  });

  it('follow a tool detached after the agent was made', async () => {
    const agentId = await newAgent();
    await setAgentTool(deps, {
      organizationId: s.acme.organizationId,
      agentId,
      toolId: toolId('memory_rethink'),
      attached: false,
    });
    fake.reply = callsOnce('memory_rethink', { label: 'human', new_memory: '' });
    const response = await send(agentId, 'forget it all');
    expect(offered(fake.requests[0])).toEqual([
      'memory_insert',
      'memory_replace',
      'conversation_search',
    ]);
    expect(toolResult(response)).toMatchObject({
      status: 'error',
      tool_return:
        "Error: the tool memory_rethink is not attached; this agent's tools are memory_insert, memory_replace, conversation_search",
    });
    expect(await human(agentId)).toBe('likes tea\nlikes tea cakes');
  });

  it('leave the builtin agent without memory once its tools are detached', async () => {
    const builtin = makeDeps(s.database, undefined, {}, new BuiltinRuntime(0));
    const agentId = await newAgent({ include_base_tools: false });
    const response = await send(agentId, 'Remember that I like jam', builtin);
    expect(response.messages).toMatchObject([
      {
        message_type: 'assistant_message',
        content: 'I cannot change my memory: the memory_insert tool is not attached to me.',
      },
    ]);
    expect(await human(agentId)).toBe('likes tea\nlikes tea cakes');
  });
});

describe('Letta’s older memory tools', () => {
  const legacy = {
    include_base_tools: false,
    tools: ['core_memory_append', 'core_memory_replace'],
  };

  it('core_memory_append adds a line at the end', async () => {
    const agentId = await newAgent(legacy);
    fake.reply = callsOnce('core_memory_append', { label: 'human', content: 'is Ada' });
    const response = await send(agentId, 'I am Ada');
    expect(toolResult(response)).toMatchObject({ status: 'success' });
    expect(await human(agentId)).toBe('likes tea\nlikes tea cakes\nis Ada');
  });

  it('core_memory_replace replaces every occurrence, and refuses text that is not there', async () => {
    const agentId = await newAgent(legacy);
    fake.reply = callsOnce('core_memory_replace', {
      label: 'human',
      old_content: 'tea',
      new_content: 'coffee',
    });
    expect(toolResult(await send(agentId, 'no more tea'))).toMatchObject({ status: 'success' });
    expect(await human(agentId)).toBe('likes coffee\nlikes coffee cakes');
    fake.reply = callsOnce('core_memory_replace', {
      label: 'human',
      old_content: 'tea',
      new_content: 'juice',
    });
    expect(toolResult(await send(agentId, 'juice then'))).toMatchObject({
      status: 'error',
      tool_return: 'Error: old_content was not found in the memory block human',
    });
    expect(await human(agentId)).toBe('likes coffee\nlikes coffee cakes');
  });
});
