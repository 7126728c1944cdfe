import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BuiltinRuntime, toSecondPerson } from '../src/agent-runtime/builtin.js';
import { openAgentRuntime } from '../src/agent-runtime/open-runtime.js';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import {
  type AgentContext,
  type AgentRuntime,
  AgentRuntimeError,
  type HistoryMessage,
  type RuntimePart,
} from '../src/agent-runtime/runtime.js';
import { BASE_TOOL_NAMES } from '../src/agents/tool-catalog.js';
import { loadConfig } from '../src/config.js';
import { offeredTools } from '../src/conversation/memory-tools.js';
import { FakeOpenAI } from './support/fake-openai.js';

const agent: AgentContext = {
  id: 'agent-1',
  name: 'Tess',
  system: 'You are Tess.',
  model: null,
  memoryBlocks: [
    { label: 'persona', value: 'I like short answers.' },
    { label: 'human', value: '' },
  ],
};

async function collect(runtime: AgentRuntime, history: HistoryMessage[], context = agent) {
  const parts: RuntimePart[] = [];
  for await (const part of runtime.respond(context, history, {
    signal: new AbortController().signal,
    tools: offeredTools(BASE_TOOL_NAMES),
  }))
    parts.push(part);
  const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  return { parts, text };
}

describe('builtin runtime', () => {
  const builtin = new BuiltinRuntime(0);

  it('keeps what it is told through a memory_insert call, then answers from its block', async () => {
    const said = { role: 'user' as const, content: 'Remember that I like tea.' };
    const told = await collect(builtin, [said]);
    const call = told.parts.find((p) => p.type === 'tool_call');
    expect(call).toMatchObject({ name: 'memory_insert' });
    expect(JSON.parse(call?.type === 'tool_call' ? call.arguments : '')).toEqual({
      label: 'human',
      new_str: '- I like tea',
    });
    expect(told.text).toBe('');
    const id = call?.type === 'tool_call' ? call.id : '';
    const after = await collect(builtin, [
      said,
      {
        role: 'tool_call',
        toolCallId: id,
        name: 'memory_insert',
        arguments: call?.type === 'tool_call' ? call.arguments : '',
      },
      {
        role: 'tool_return',
        toolCallId: id,
        name: 'memory_insert',
        content: 'The memory block human now reads:\n- I like tea',
      },
    ]);
    expect(after.text).toBe("Got it. I'll remember that you like tea.");
    expect(after.parts.some((p) => p.type === 'tool_call')).toBe(false);
    const asked = await collect(
      builtin,
      [{ role: 'user', content: 'What do you know about me?' }],
      { ...agent, memoryBlocks: [{ label: 'human', value: '- I like tea' }] },
    );
    expect(asked.text).toBe('You told me that you like tea.');
    expect(asked.parts.some((p) => p.type === 'tool_call')).toBe(false);
  });

  it('says when it knows nothing, forgets through memory_rethink, and says when a tool refused', async () => {
    const asked = await collect(builtin, [
      { role: 'user', content: 'what do you remember about me' },
    ]);
    expect(asked.text).toMatch(/don't know anything about you yet/);
    const forgot = await collect(builtin, [{ role: 'user', content: 'forget everything' }]);
    expect(forgot.parts).toContainEqual(
      expect.objectContaining({
        type: 'tool_call',
        name: 'memory_rethink',
        arguments: JSON.stringify({ label: 'human', new_memory: '' }),
      }),
    );
    const refused = await collect(builtin, [
      { role: 'user', content: 'remember that I like tea' },
      { role: 'tool_call', toolCallId: 'c', name: 'memory_insert', arguments: '{}' },
      { role: 'tool_return', toolCallId: 'c', name: 'memory_insert', content: 'Error: it is full' },
    ]);
    expect(refused.text).toMatch(/^I could not change my memory of you \(it is full\)/);
  });

  it('reports the model that answers as builtin', () => {
    expect(new BuiltinRuntime(0, 8_000).llmConfig()).toEqual({
      model: 'builtin',
      model_endpoint_type: 'builtin',
      context_window: 8_000,
    });
  });

  it('streams its reply word by word and reports usage', async () => {
    const { parts, text } = await collect(builtin, [{ role: 'user', content: 'hello there' }]);
    const pieces = parts.filter((p) => p.type === 'text');
    expect(pieces.length).toBe(text.trim().split(/\s+/).length);
    expect(text).toContain('You said: \u201chello there\u201d');
    expect(parts.at(-1)).toMatchObject({ type: 'usage', completionTokens: pieces.length });
  });

  it('turns the first person into the second', () => {
    expect(toSecondPerson("I think my cat likes me and I'm sure")).toBe(
      "you think your cat likes you and you're sure",
    );
  });
});

describe('openai runtime against a local OpenAI-compatible server', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const history: HistoryMessage[] = [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
    { role: 'user', content: 'how are you?' },
  ];

  it('streams the reply in pieces with the system prompt, memory and history in context', async () => {
    const runtime = new OpenAIRuntime({
      baseURL: fake.baseURL,
      apiKey: 'k',
      model: 'm1',
      stream: true,
    });
    const { parts, text } = await collect(runtime, history, {
      ...agent,
      memoryBlocks: [{ label: 'human', value: 'likes tea' }],
    });
    expect(text).toBe('echo: how are you?');
    expect(parts.filter((p) => p.type === 'text').length).toBeGreaterThan(1);
    expect(parts).toContainEqual({ type: 'usage', promptTokens: 11, completionTokens: 7 });
    const [request] = fake.requests;
    expect(request?.model).toBe('m1');
    expect(request?.stream).toBe(true);
    expect(request?.messages[0]?.role).toBe('system');
    expect(request?.messages[0]?.content).toContain('You are Tess.');
    expect(request?.messages[0]?.content).toContain('<human>\nlikes tea\n</human>');
    expect(request?.messages.slice(1)).toEqual(history);
  });

  it('answers whole when streaming is off, and prefers the agent’s own model', async () => {
    const runtime = new OpenAIRuntime({
      baseURL: fake.baseURL,
      apiKey: undefined,
      model: 'm1',
      stream: false,
    });
    const { parts, text } = await collect(runtime, history, { ...agent, model: 'agent-model' });
    expect(text).toBe('echo: how are you?');
    expect(parts.filter((p) => p.type === 'text')).toHaveLength(1);
    expect(fake.requests[0]?.stream).toBeFalsy();
    expect(fake.requests[0]?.model).toBe('agent-model');
  });

  it('turns a failing endpoint into an AgentRuntimeError with a readable message', async () => {
    fake.failWith = { status: 400, message: 'model not loaded' };
    const runtime = new OpenAIRuntime({
      baseURL: fake.baseURL,
      apiKey: 'k',
      model: 'm1',
      stream: true,
    });
    const error = await collect(runtime, history).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toBe(
      'The model API failed for model m1: 400 model not loaded',
    );
  });

  it('asks once: a failed call ends the turn instead of starting another within its deadlines', async () => {
    fake.failWith = { status: 500, message: 'overloaded' };
    const { error } = await partsUntilFailure(streaming());
    expect((error as Error).message).toBe('The model API failed for model m1: 500 overloaded');
    expect(fake.requests).toHaveLength(1);
  });

  it('holds a request to SCOPEKIT_TURN_TIMEOUT_SECONDS, the turn’s own deadline, not a cap of its own', async () => {
    // A whole reply is one part: only the overall deadline can bound it, as long as it is set.
    fake.pieceDelayMs = 2_000;
    const runtime = openAgentRuntime(
      loadConfig({
        SCOPEKIT_AGENT_PROVIDER: 'openai',
        LLM_BASE_URL: fake.baseURL,
        LLM_MODEL: 'm1',
        LLM_STREAM: 'false',
        SCOPEKIT_TURN_TIMEOUT_SECONDS: '0.2',
      }),
    );
    const { error } = await partsUntilFailure(runtime);
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toBe('The model API failed for model m1: Request timed out.');
  });

  async function partsUntilFailure(runtime: AgentRuntime) {
    const parts: RuntimePart[] = [];
    const signal = new AbortController().signal;
    try {
      for await (const part of runtime.respond(agent, history, { signal, tools: [] }))
        parts.push(part);
    } catch (error) {
      return { parts, error };
    }
    throw new Error(`The reply did not fail: ${JSON.stringify(parts)}`);
  }

  const streaming = () =>
    new OpenAIRuntime({ baseURL: fake.baseURL, apiKey: 'k', model: 'm1', stream: true });

  it('turns an error sent mid-stream into an AgentRuntimeError, after the pieces before it', async () => {
    fake.midStream = { after: 2, does: 'error' };
    const { parts, error } = await partsUntilFailure(streaming());
    expect(parts).toEqual([
      { type: 'text', text: 'echo' },
      { type: 'text', text: ': ho' },
    ]);
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toBe(
      'The model API failed for model m1 mid-reply: The server had an error while processing your request.',
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('turns a connection cut mid-stream into an AgentRuntimeError, without asking again', async () => {
    fake.midStream = { after: 2, does: 'cut' };
    const { parts, error } = await partsUntilFailure(streaming());
    expect(parts).toHaveLength(2);
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toMatch(/^The model API failed for model m1 mid-reply: \S/);
    expect(fake.requests).toHaveLength(1);
  });

  it('gives up its request when the turn is aborted mid-stream, ending with the abort', async () => {
    fake.midStream = { after: 1, does: 'stall' };
    const controller = new AbortController();
    const reason = new Error('the turn was stopped');
    const parts = streaming().respond(agent, history, { signal: controller.signal, tools: [] });
    const iterator = parts[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'echo' } });
    const stalled = iterator.next();
    controller.abort(reason);
    await expect(stalled).rejects.toBe(reason);
    while (fake.abandoned === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fake.abandoned).toBe(1);
  });

  it('sends LLM_API_KEY as the bearer, and LLM_MODEL as the model', async () => {
    const runtime = openAgentRuntime(
      loadConfig({
        SCOPEKIT_AGENT_PROVIDER: 'openai',
        LLM_BASE_URL: fake.baseURL,
        LLM_MODEL: 'configured-model',
        LLM_API_KEY: 'sk-operator-secret',
      }),
    );
    await collect(runtime, history);
    expect(fake.headers[0]?.authorization).toBe('Bearer sk-operator-secret');
    expect(fake.requests[0]?.model).toBe('configured-model');
  });

  it('asks for usage by default, and not with LLM_STREAM_USAGE=false, for servers that refuse it', async () => {
    fake.refusesStreamOptions = true;
    const config = (usage?: string) =>
      loadConfig({
        SCOPEKIT_AGENT_PROVIDER: 'openai',
        LLM_BASE_URL: fake.baseURL,
        LLM_MODEL: 'm1',
        ...(usage && { LLM_STREAM_USAGE: usage }),
      });
    const refused = await collect(openAgentRuntime(config()), history).catch((e: unknown) => e);
    expect((refused as Error).message).toBe(
      'The model API failed for model m1: 400 Unrecognized request argument supplied: stream_options',
    );
    expect(fake.requests[0]?.stream_options).toEqual({ include_usage: true });
    const { text, parts } = await collect(openAgentRuntime(config('false')), history);
    expect(text).toBe('echo: how are you?');
    expect(fake.requests[1]?.stream_options).toBeUndefined();
    // The usage this fake sends anyway is still read.
    expect(parts).toContainEqual({ type: 'usage', promptTokens: 11, completionTokens: 7 });
  });

  it('turns an unreachable endpoint into an AgentRuntimeError', async () => {
    const runtime = new OpenAIRuntime({
      baseURL: 'http://127.0.0.1:9/v1',
      apiKey: 'k',
      model: 'm1',
      stream: true,
    });
    const error = await collect(runtime, history).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toMatch(/^The model API failed for model m1: /);
  });
});
