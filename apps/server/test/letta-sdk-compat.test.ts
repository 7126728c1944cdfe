import Letta, {
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import type { ToolCall } from '@letta-ai/letta-client/resources/agents/messages';
import type { AccessOf } from '@scopekit/policy';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { AgentRuntime, HistoryMessage, RuntimePart } from '../src/agent-runtime/runtime.js';
import { getAgent } from '../src/agents/agent-read.js';
import { messages } from '../src/db/schema.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, makeDeps } from './support/fixtures.js';
import { startTestServer } from './support/server.js';
import { useSuite } from './support/suite.js';

const s = useSuite({ server: true });

/** A real SDK client; `attempts` counts the HTTP requests it made, retries included. */
function sdk(
  apiKey: string,
  options: { baseURL?: string; maxRetries?: number; origin?: string } = {},
) {
  const counter = { attempts: 0 };
  const client = new Letta({
    apiKey,
    baseURL: options.baseURL ?? s.server.baseUrl,
    maxRetries: options.maxRetries ?? 0,
    defaultHeaders: options.origin ? { Origin: options.origin } : undefined,
    fetch: (input, init) => {
      counter.attempts += 1;
      return fetch(input, init);
    },
  });
  return Object.assign(client, { counter });
}

async function browserClient(access: AccessOf<'agent'>[]) {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access }],
  });
  return sdk(token, { origin: APP_ORIGIN });
}

const storedUserMessages = async (agentId: string, content?: string) =>
  s.deps.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.agentId, agentId),
        eq(messages.messageType, 'user_message'),
        content === undefined ? undefined : eq(messages.content, content),
      ),
    );

/** A runtime that waits for `release()` before answering, so a test can act mid-turn. */
class GatedRuntime implements AgentRuntime {
  entered!: Promise<void>;
  #enter!: () => void;
  #gate!: Promise<void>;
  release!: () => void;
  constructor(private readonly answer: RuntimePart[]) {
    this.reset();
  }
  reset() {
    this.entered = new Promise((resolve) => {
      this.#enter = resolve;
    });
    this.#gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }
  llmConfig = () => ({ model: 'gated', model_endpoint_type: 'gated', context_window: 1 });
  async *respond(_agent: unknown, history: HistoryMessage[]): AsyncIterable<RuntimePart> {
    // A tool's result is read in a further step, which just says so.
    if (history.at(-1)?.role === 'tool_return') return yield { type: 'text', text: 'noted' };
    this.#enter();
    await this.#gate;
    yield* this.answer;
  }
}

async function serverWith(runtime: AgentRuntime) {
  const deps = { ...makeDeps(s.database), agentRuntime: runtime };
  return startTestServer(deps);
}

describe('typed SDK calls that Letta accepts are accepted', () => {
  it('sends with the `input` shorthand, as text or text parts', async () => {
    const client = sdk(s.acme.apiKey);
    const plain = await client.agents.messages.create(s.acme.agentId, { input: 'hello' });
    expect(plain.messages[0]).toMatchObject({ message_type: 'assistant_message' });
    expect(plain.messages[0]).toHaveProperty('content', expect.stringContaining('hello'));
    await client.agents.messages.create(s.acme.agentId, {
      input: [{ type: 'text', text: 'in ' }, { text: 'parts' }],
    });
    const stored = await storedUserMessages(s.acme.agentId);
    expect(stored.map((m) => m.content).sort()).toEqual(['hello', 'in parts']);

    await expect(
      client.agents.messages.create(s.acme.agentId, {
        input: 'one',
        messages: [{ role: 'user', content: 'two' }],
      }),
    ).rejects.toThrow('input: give either messages or input, not both');
    await expect(client.agents.messages.create(s.acme.agentId, {})).rejects.toThrow(
      'messages: must not be empty',
    );
    expect(await storedUserMessages(s.acme.agentId)).toHaveLength(2);
  });

  it('filters the reply by include_return_message_types, plain and streamed', async () => {
    const client = sdk(s.acme.apiKey);
    const none = await client.agents.messages.create(s.acme.agentId, {
      input: 'hi',
      include_return_message_types: ['reasoning_message'],
    });
    expect(none.messages).toEqual([]);
    expect(none.stop_reason.stop_reason).toBe('end_turn');
    const some = await client.agents.messages.create(s.acme.agentId, {
      input: 'hi',
      include_return_message_types: ['assistant_message'],
      use_assistant_message: true,
      include_pings: true,
      max_steps: 3,
    });
    expect(some.messages).toHaveLength(1);

    const chunks = [];
    for await (const chunk of await client.agents.messages.create(s.acme.agentId, {
      input: 'hi',
      streaming: true,
      stream_tokens: true,
      include_return_message_types: ['tool_call_message'],
    }))
      chunks.push(chunk.message_type);
    expect(chunks).toEqual(['stop_reason', 'usage_statistics']);
  });

  it('lists with use_assistant_message, include_err and a type filter', async () => {
    const client = sdk(s.acme.apiKey);
    await client.agents.messages.create(s.acme.agentId, { input: 'hi' });
    const all = await client.agents.messages.list(s.acme.agentId, {
      use_assistant_message: true,
      include_err: true,
      order_by: 'created_at',
    });
    expect(all.items.map((m) => m.message_type)).toEqual(['assistant_message', 'user_message']);
    const users = await client.agents.messages.list(s.acme.agentId, {
      include_return_message_types: ['user_message'],
    });
    expect(users.items.map((m) => m.message_type)).toEqual(['user_message']);
    const both = await client.agents.messages.list(s.acme.agentId, {
      include_return_message_types: ['user_message', 'assistant_message'],
    });
    expect(both.items).toHaveLength(2);
    await expect(
      client.agents.messages.list(s.acme.agentId, { include_err: 'yes' as unknown as boolean }),
    ).rejects.toThrow('include_err: must be true or false');
  });

  it('creates an agent with embedding, include_base_tools and a block limit', async () => {
    const client = sdk(s.acme.apiKey);
    const agent = await client.agents.create({
      name: 'letta-style',
      model: 'openai/gpt-4o-mini',
      embedding: 'openai/text-embedding-3-small',
      include_base_tools: true,
      agent_type: 'letta_v1_agent',
      tools: [],
      memory_blocks: [
        { label: 'human', value: 'Ada', limit: 50, read_only: false },
        { label: 'persona', value: 'A cat.', description: 'who I am' },
      ],
    });
    expect(agent.blocks).toMatchObject([
      { label: 'human', value: 'Ada', limit: 50, description: null },
      { label: 'persona', value: 'A cat.', limit: 10_000, description: 'who I am' },
    ]);
    // The ignored flags are not stored anywhere.
    const row = await getAgent(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: agent.id,
    });
    expect(row.memoryBlocks).toEqual([
      { id: agent.blocks[0]?.id, label: 'human', value: 'Ada', limit: 50 },
      { id: agent.blocks[1]?.id, label: 'persona', value: 'A cat.', description: 'who I am' },
    ]);
    const updated = await client.agents.update(agent.id, {
      embedding: 'openai/text-embedding-3-small',
      tool_ids: null,
      description: 'updated',
    });
    expect(updated.description).toBe('updated');
  });

  it('still refuses unknown fields and what it cannot honour, naming them, storing nothing', async () => {
    const client = sdk(s.acme.apiKey);
    const before = (await client.agents.list()).items.length;
    const refusals: [Parameters<typeof client.agents.create>[0], string][] = [
      [{ sytem: 'x' } as Parameters<typeof client.agents.create>[0], 'Unrecognized key: "sytem"'],
      [{ tools: ['web_search'] }, 'tools[0]: "web_search" needs internet access'],
      [{ from_template: 'x' }, 'from_template: is not supported by this server'],
      [
        { memory_blocks: [{ label: 'human', value: 'far too long', limit: 3 }] },
        "memory_blocks[0].value: is 12 characters; the block's limit is 3",
      ],
    ];
    for (const [body, message] of refusals) {
      const refused = client.agents.create(body);
      await expect(refused).rejects.toBeInstanceOf(BadRequestError);
      await expect(refused).rejects.toThrow(message);
    }
    expect((await client.agents.list()).items).toHaveLength(before);
    await expect(
      client.agents.messages.create(s.acme.agentId, {
        input: 'hi',
        streamin: true,
      } as Parameters<typeof client.agents.messages.create>[1]),
    ).rejects.toThrow('Unrecognized key: "streamin"');
    await expect(
      client.agents.messages.create(s.acme.agentId, {
        input: 'hi',
        override_model: 'gpt-5',
      }),
    ).rejects.toThrow('override_model: is not supported by this server');
    expect(await storedUserMessages(s.acme.agentId)).toEqual([]);
  });
});

describe('core memory blocks through client.agents.blocks', () => {
  it('lists, retrieves and updates a block with a server-side key', async () => {
    const client = sdk(s.acme.apiKey);
    const agentId = s.acme.agentId;
    const listed = await client.agents.blocks.list(agentId);
    expect(listed.items.map((b) => b.label)).toEqual(['persona', 'human']);
    // Auto-paging follows `after` to the end and stops.
    const paged = [];
    for await (const block of client.agents.blocks.list(agentId, { limit: 1 })) paged.push(block);
    expect(paged.map((b) => b.id)).toEqual(listed.items.map((b) => b.id));

    const human = await client.agents.blocks.retrieve('human', { agent_id: agentId });
    expect(human).toMatchObject({ label: 'human', value: '', limit: 10_000 });
    expect(human.id).toBe(listed.items[1]?.id);

    const updated = await client.agents.blocks.update('human', {
      agent_id: agentId,
      value: 'Ada likes tea',
      description: 'the person I talk to',
      limit: 100,
    });
    expect(updated).toMatchObject({
      id: human.id,
      label: 'human',
      value: 'Ada likes tea',
      description: 'the person I talk to',
      limit: 100,
    });
    const agent = await client.agents.retrieve(agentId);
    expect(agent.blocks.map((b) => [b.label, b.value])).toEqual([
      ['persona', 'I am a friendly assistant.'],
      ['human', 'Ada likes tea'],
    ]);

    const tooLong = client.agents.blocks.update('human', {
      agent_id: agentId,
      value: 'x'.repeat(101),
    });
    await expect(tooLong).rejects.toBeInstanceOf(BadRequestError);
    await expect(tooLong).rejects.toThrow("value: is 101 characters; the block's limit is 100");
    await expect(
      client.agents.blocks.update('human', { agent_id: agentId, limit: 5 }),
    ).rejects.toThrow("value: is 13 characters; the block's limit is 5");
    await expect(
      client.agents.blocks.update('human', { agent_id: agentId, label: 'someone' }),
    ).rejects.toThrow('label: renaming a block is not supported');
    await expect(
      client.agents.blocks.update('human', { agent_id: agentId, valu: 'x' } as never),
    ).rejects.toThrow('Unrecognized key: "valu"');
    await expect(
      client.agents.blocks.retrieve('nobody', { agent_id: agentId }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      client.agents.blocks.update('nobody', { agent_id: agentId, value: 'x' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.agents.blocks.retrieve('human', { agent_id: agentId })).value).toBe(
      'Ada likes tea',
    );
  });

  it('needs read_agent to read and write_agent to update, from a client-side token', async () => {
    const reader = await browserClient(['read_agent']);
    const agentId = s.acme.agentId;
    expect((await reader.agents.blocks.list(agentId)).items).toHaveLength(2);
    await expect(
      reader.agents.blocks.update('human', { agent_id: agentId, value: 'x' }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const writer = await browserClient(['write_agent']);
    await expect(writer.agents.blocks.list(agentId)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      writer.agents.blocks.retrieve('human', { agent_id: agentId }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const written = await writer.agents.blocks.update('human', { agent_id: agentId, value: 'Ada' });
    expect(written.value).toBe('Ada');
    await expect(reader.agents.blocks.list(s.acme.otherAgentId)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it('shows the memory tool calls with the fields the SDK declares: sent, streamed and listed', async () => {
    const client = sdk(s.acme.apiKey);
    const agent = await client.agents.create({});
    const sent = await client.agents.messages.create(agent.id, {
      input: 'remember that I like tea',
    });
    expect(sent.messages.map((m) => m.message_type)).toEqual([
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    const [call, result] = sent.messages;
    if (
      call?.message_type !== 'tool_call_message' ||
      result?.message_type !== 'tool_return_message'
    ) {
      throw new Error('expected a tool call and its return');
    }
    const toolCall = call.tool_call as ToolCall;
    expect(toolCall.name).toBe('memory_insert');
    expect(JSON.parse(toolCall.arguments)).toEqual({ label: 'human', new_str: '- I like tea' });
    expect(call.tool_calls).toEqual([toolCall]);
    expect(result).toMatchObject({
      status: 'success',
      tool_call_id: toolCall.tool_call_id,
      name: 'memory_insert',
      tool_return: 'The memory block human now reads:\n- I like tea',
    });
    expect(result.tool_returns?.[0]).toMatchObject({
      status: 'success',
      tool_call_id: toolCall.tool_call_id,
    });

    const stream = await client.agents.messages.create(agent.id, {
      input: 'remember that I like green tea',
      streaming: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.message_type)).toEqual([
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ]);
    expect(chunks.at(-1)).toMatchObject({ step_count: 2 });

    const listed = await client.agents.messages.list(agent.id, { order: 'asc' });
    expect(listed.items.map((m) => m.message_type)).toEqual([
      'user_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'user_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    expect(listed.items[2]).toMatchObject({
      tool_call_id: toolCall.tool_call_id,
      status: 'success',
    });
    const blocks = await client.agents.blocks.list(agent.id);
    expect(blocks.items.find((b) => b.label === 'human')?.value).toBe(
      '- I like tea\n- I like green tea',
    );
  });

  it('the builtin agent cannot insert into a block the agent lacks, and says so', async () => {
    const client = sdk(s.acme.apiKey);
    const agent = await client.agents.create({
      memory_blocks: [{ label: 'persona', value: 'A cat.' }],
    });
    const sent = await client.agents.messages.create(agent.id, {
      input: 'remember that I like tea',
    });
    expect(sent.stop_reason.stop_reason).toBe('end_turn');
    expect(sent.messages[1]).toMatchObject({
      message_type: 'tool_return_message',
      status: 'error',
      tool_return: 'Error: there is no memory block labelled human; the blocks are persona',
    });
    expect(sent.messages[2]).toMatchObject({
      content: expect.stringMatching(/^I could not change my memory of you/),
    });
    const blocks = await client.agents.blocks.list(agent.id);
    expect(blocks.items.map((b) => [b.label, b.value])).toEqual([['persona', 'A cat.']]);
  });

  it('keeps a PATCH made during a turn that edits another block', async () => {
    const runtime = new GatedRuntime([
      {
        type: 'tool_call',
        id: 'call-1',
        name: 'memory_rethink',
        arguments: JSON.stringify({ label: 'human', new_memory: '- likes tea' }),
      },
    ]);
    const server = await serverWith(runtime);
    try {
      const client = sdk(s.acme.apiKey, { baseURL: server.baseUrl });
      const agentId = s.acme.agentId;
      const turn = client.agents.messages.create(agentId, { input: 'remember that I like tea' });
      await runtime.entered;
      await client.agents.blocks.update('persona', { agent_id: agentId, value: 'A patient cat.' });
      runtime.release();
      await turn;
      const blocks = (await client.agents.retrieve(agentId)).blocks;
      expect(blocks.map((b) => [b.label, b.value])).toEqual([
        ['persona', 'A patient cat.'],
        ['human', '- likes tea'],
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('a retried send is not stored twice', () => {
  it('refuses a resend with the same otid, and the SDK does not retry the refusal', async () => {
    const client = sdk(s.acme.apiKey, { maxRetries: 2 });
    const body = { messages: [{ role: 'user' as const, content: 'only once', otid: 'otid-1' }] };
    const first = await client.agents.messages.create(s.acme.agentId, body);
    expect(first.stop_reason.stop_reason).toBe('end_turn');
    client.counter.attempts = 0;
    const again = client.agents.messages.create(s.acme.agentId, body);
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    await expect(again).rejects.toThrow('messages.0.otid: was already sent to this agent');
    expect(client.counter.attempts).toBe(1);
    expect(await storedUserMessages(s.acme.agentId, 'only once')).toHaveLength(1);
    // The same otid names a different message on another agent.
    await client.agents.messages.create(s.acme.otherAgentId, body);
    expect(await storedUserMessages(s.acme.otherAgentId, 'only once')).toHaveLength(1);
    await expect(
      client.agents.messages.create(s.acme.agentId, {
        messages: [
          { role: 'user', content: 'a', otid: 'twice' },
          { role: 'user', content: 'b', otid: 'twice' },
        ],
      }),
    ).rejects.toThrow('messages.1.otid: is given to two messages of this send');
  });

  it('refuses a streamed resend with the same 409, before its stream opens', async () => {
    const client = sdk(s.acme.apiKey);
    const body = { messages: [{ role: 'user' as const, content: 'only once', otid: 'otid-3' }] };
    await client.agents.messages.create(s.acme.agentId, body);
    for (const [path, streaming] of [
      ['messages', true],
      ['messages/stream', undefined],
    ] as const) {
      const response = await fetch(`${s.server.baseUrl}/v1/agents/${s.acme.agentId}/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, streaming }),
      });
      expect(response.status).toBe(409);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('x-should-retry')).toBe('false');
      expect(((await response.json()) as { message: string }).message).toMatch(
        /^messages\.0\.otid: was already sent to this agent/,
      );
    }
    // Through the SDK, the typed error a plain resend gets.
    await expect(
      client.agents.messages.stream(s.acme.agentId, body).then(async (stream) => {
        for await (const _ of stream);
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await storedUserMessages(s.acme.agentId, 'only once')).toHaveLength(1);
  });

  it('a browser can read the header that says not to retry', async () => {
    const client = await browserClient(['write_messages']);
    const body = { messages: [{ role: 'user' as const, content: 'hi', otid: 'otid-2' }] };
    await client.agents.messages.create(s.acme.agentId, body);
    const response = await fetch(`${s.server.baseUrl}/v1/agents/${s.acme.agentId}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.apiKey}`,
        origin: APP_ORIGIN,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(response.headers.get('access-control-expose-headers')).toContain('x-should-retry');
  });

  it('a failure after the message was stored says not to retry', async () => {
    // A reply PostgreSQL cannot store (a NUL character): the turn fails on the server, mid-turn.
    const runtime = new GatedRuntime([{ type: 'text', text: 'a\u0000b' }]);
    const server = await serverWith(runtime);
    try {
      const client = sdk(s.acme.apiKey, { baseURL: server.baseUrl, maxRetries: 2 });
      const agentId = s.acme.agentId;
      const turn = client.agents.messages.create(agentId, { input: 'hello' });
      const outcome = turn.catch((error: unknown) => error);
      await runtime.entered;
      expect(await storedUserMessages(agentId, 'hello')).toHaveLength(1);
      runtime.release();
      expect(await outcome).toBeInstanceOf(InternalServerError);
      expect(client.counter.attempts).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('agent state', () => {
  it('llm_config names the model that answers', async () => {
    const client = sdk(s.acme.apiKey);
    const agent = await client.agents.retrieve(s.acme.agentId);
    expect(agent.llm_config).toEqual({
      model: 'builtin',
      display_name: 'builtin',
      handle: 'builtin/builtin',
      model_endpoint_type: 'builtin',
      model_endpoint: null,
      provider_name: 'builtin',
      provider_category: 'base',
      model_wrapper: null,
      context_window: 32_000,
      max_tokens: null,
      put_inner_thoughts_in_kwargs: false,
      enable_reasoner: false,
      reasoning_effort: null,
      compatibility_type: null,
    });
    expect(agent).toMatchObject({ embedding: null, embedding_config: null });
  });
});

describe('request size follows SCOPEKIT_MESSAGE_MAX_BYTES', () => {
  it('reads bodies above 1 MiB when the limit allows it, so the service answers them', async () => {
    const max = 2 * 1024 * 1024;
    const server = await startTestServer(makeDeps(s.database, undefined, { messageMaxBytes: max }));
    try {
      const client = sdk(s.acme.apiKey, { baseURL: server.baseUrl });
      // Fastify's usual 1 MiB would refuse these bodies itself, before the service saw them.
      const blank = '\n'.repeat(1024 * 1024);
      await expect(client.agents.messages.create(s.acme.agentId, { input: blank })).rejects.toThrow(
        'messages.0.content: must not be empty',
      );
      const tooBig = 'x'.repeat(max + 1);
      await expect(
        client.agents.messages.create(s.acme.agentId, { input: tooBig }),
      ).rejects.toThrow(`messages.0.content: is ${max + 1} bytes; at most ${max} are allowed`);
      expect(await storedUserMessages(s.acme.agentId)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
