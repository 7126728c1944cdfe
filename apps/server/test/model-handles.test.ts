import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BuiltinRuntime } from '../src/agent-runtime/builtin.js';
import { lettaLlmConfig } from '../src/agent-runtime/llm-config.js';
import { resolveModelHandle } from '../src/agent-runtime/model-handle.js';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import { type AgentContext, AgentRuntimeError } from '../src/agent-runtime/runtime.js';
import { FakeOpenAI } from './support/fake-openai.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const openai = (apiKey?: string) =>
  new OpenAIRuntime({ baseURL: fake.baseURL, apiKey, model: 'gpt-4o-mini', stream: true });

const agent = (model: string | null): AgentContext => ({
  id: 'agent-1',
  name: 'Tess',
  system: 'Be brief.',
  model,
  memoryBlocks: [],
});

async function answer(runtime: OpenAIRuntime, model: string | null) {
  const signal = new AbortController().signal;
  const history = [{ role: 'user' as const, content: 'hi' }];
  for await (const _ of runtime.respond(agent(model), history, { signal, tools: [] }));
}

describe('a model handle given for an agent', () => {
  it('maps provider/model to the endpoint’s model, and keeps a bare id as the endpoint’s', async () => {
    fake.models = ['gpt-4o-mini', 'gpt-4.1', 'meta-llama/Llama-3-8b', 'openai/gpt-oss-20b'];
    const runtime = openai();
    expect(await resolveModelHandle(runtime, 'openai/gpt-4.1')).toBe('openai/gpt-4.1');
    expect(await resolveModelHandle(runtime, 'gpt-4.1')).toBe('openai/gpt-4.1');
    // Ids of the endpoint's own that hold a slash are the endpoint's, not handles.
    expect(await resolveModelHandle(runtime, 'meta-llama/Llama-3-8b')).toBe(
      'openai/meta-llama/Llama-3-8b',
    );
    expect(await resolveModelHandle(runtime, 'openai/gpt-oss-20b')).toBe(
      'openai/openai/gpt-oss-20b',
    );
    for (const [handle, sent] of [
      ['openai/gpt-4.1', 'gpt-4.1'],
      ['openai/openai/gpt-oss-20b', 'openai/gpt-oss-20b'],
      ['gpt-4.1', 'gpt-4.1'],
      [null, 'gpt-4o-mini'],
    ] as const) {
      fake.requests.length = 0;
      await answer(runtime, handle);
      expect(fake.requests[0]?.model).toBe(sent);
    }
  });

  it('refuses another provider’s handle, and a model the endpoint does not list', async () => {
    fake.models = ['gpt-4o-mini', 'gpt-4.1'];
    const runtime = openai();
    await expect(resolveModelHandle(runtime, 'anthropic/claude-sonnet-4')).rejects.toThrow(
      'model: "anthropic/claude-sonnet-4" names the provider "anthropic", which this server does not have; its models are served as "openai" (e.g. "openai/gpt-4o-mini")',
    );
    for (const missing of ['openai/gpt-5', 'gpt-5']) {
      await expect(resolveModelHandle(runtime, missing)).rejects.toThrow(
        'model: the model "gpt-5" is not served by this server\'s provider; it serves "gpt-4o-mini", "gpt-4.1"',
      );
    }
    await expect(resolveModelHandle(runtime, 'openai/')).rejects.toThrow(
      'model: "openai/" names no model',
    );
  });

  it('takes a model as given when the endpoint cannot list its models', async () => {
    const runtime = openai();
    expect(await resolveModelHandle(runtime, 'openai/gpt-5')).toBe('openai/gpt-5');
    await expect(resolveModelHandle(runtime, 'ollama/llama3')).rejects.toThrow(
      'names the provider "ollama"',
    );
  });

  it('is kept as given by the builtin runtime, which answers every agent itself', async () => {
    const builtin = new BuiltinRuntime(0);
    expect(await resolveModelHandle(builtin, 'anthropic/claude-sonnet-4')).toBe(
      'anthropic/claude-sonnet-4',
    );
  });
});

describe('llm_config', () => {
  it('is shaped as Letta reports it, the handle naming the provider', () => {
    expect(lettaLlmConfig(openai(), 'openai/gpt-4.1')).toEqual({
      model: 'gpt-4.1',
      display_name: 'gpt-4.1',
      handle: 'openai/gpt-4.1',
      model_endpoint_type: 'openai',
      model_endpoint: null,
      provider_name: 'openai',
      provider_category: 'base',
      model_wrapper: null,
      context_window: 32_000,
      max_tokens: null,
      put_inner_thoughts_in_kwargs: false,
      enable_reasoner: false,
      reasoning_effort: null,
      compatibility_type: null,
    });
    expect(lettaLlmConfig(openai(), null)).toMatchObject({
      model: 'gpt-4o-mini',
      handle: 'openai/gpt-4o-mini',
    });
    expect(lettaLlmConfig(new BuiltinRuntime(0), 'openai/gpt-4.1')).toMatchObject({
      model: 'builtin',
      handle: 'builtin/builtin',
      model_endpoint_type: 'builtin',
      provider_name: 'builtin',
    });
  });
});

describe('a model that fails mid-turn', () => {
  it('says which model failed and the endpoint’s status, without the key it was sent', async () => {
    fake.failWith = {
      status: 404,
      message: 'The model `gpt-5` does not exist or you do not have access to it.',
    };
    const error = await answer(openai('sk-operator-secret'), 'openai/gpt-5').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentRuntimeError);
    expect((error as Error).message).toBe(
      'The model API failed for model gpt-5: 404 The model `gpt-5` does not exist or you do not have access to it.',
    );
    fake.failWith = { status: 401, message: 'Incorrect API key provided: sk-operator-secret.' };
    const refused = await answer(openai('sk-operator-secret'), null).catch((e: unknown) => e);
    expect((refused as Error).message).toBe(
      'The model API failed for model gpt-4o-mini: 401 Incorrect API key provided: [redacted].',
    );
  });
});
