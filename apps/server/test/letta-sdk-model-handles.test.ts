import { BadRequestError } from '@letta-ai/letta-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import { listAgents } from '../src/agents/agent-read.js';
import { FakeOpenAI } from './support/fake-openai.js';
import { makeDeps } from './support/fixtures.js';
import { lettaClient } from './support/letta-sdk.js';
import { startTestServer, type TestServer } from './support/server.js';
import { useSuite } from './support/suite.js';

/** Letta code naming its model by handle, against an OpenAI-compatible endpoint. */
const s = useSuite();
let fake: FakeOpenAI;
let server: TestServer;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
  const runtime = new OpenAIRuntime({
    baseURL: fake.baseURL,
    apiKey: 'sk-operator-secret',
    model: 'gpt-4o-mini',
    stream: true,
  });
  server = await startTestServer(makeDeps(s.database, undefined, undefined, runtime));
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.reset();
  fake.models = ['gpt-4o-mini', 'gpt-4.1'];
});

const sdk = () => lettaClient(s.acme.apiKey, server.baseUrl);
const agentCount = async () =>
  (await listAgents(s.deps, { organizationId: s.acme.organizationId })).length;

describe('an agent’s model handle', () => {
  it('maps openai/<model> to the endpoint’s model on create, and reports llm_config as Letta does', async () => {
    const client = sdk();
    const agent = await client.agents.create({ name: 'ada', model: 'openai/gpt-4.1' });
    expect(agent.model).toBe('openai/gpt-4.1');
    expect(agent.llm_config).toMatchObject({
      model: 'gpt-4.1',
      handle: 'openai/gpt-4.1',
      model_endpoint_type: 'openai',
      provider_name: 'openai',
      context_window: 32_000,
      model_endpoint: null,
    });
    expect(agent.embedding_config).toBeNull();
    const response = await client.agents.messages.create(agent.id, {
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(response.stop_reason?.stop_reason).toBe('end_turn');
    expect(fake.requests.at(-1)?.model).toBe('gpt-4.1');

    const bare = await client.agents.update(agent.id, { model: 'gpt-4o-mini' });
    expect(bare.model).toBe('openai/gpt-4o-mini');
    expect(bare.llm_config.model).toBe('gpt-4o-mini');
  });

  it.each([
    [
      'another provider’s handle',
      'anthropic/claude-sonnet-4',
      'model: "anthropic/claude-sonnet-4" names the provider "anthropic"',
    ],
    [
      'a model the endpoint does not list',
      'openai/gpt-5',
      'model: the model "gpt-5" is not served by this server\'s provider',
    ],
  ])('refuses %s with a 400 naming it, on create and on update', async (_, model, message) => {
    const client = sdk();
    const created = await client.agents.create({ name: 'x', model }).catch((e: unknown) => e);
    expect(created).toBeInstanceOf(BadRequestError);
    expect((created as Error).message).toContain(message);
    expect(await agentCount()).toBe(2);
    const updated = await client.agents
      .update(s.acme.agentId, { name: 'renamed', model })
      .catch((e: unknown) => e);
    expect(updated).toBeInstanceOf(BadRequestError);
    expect((updated as Error).message).toContain(message);
    const agent = await client.agents.retrieve(s.acme.agentId);
    expect(agent).toMatchObject({ name: 'acme agent', model: null });
    expect(agent.llm_config.handle).toBe('openai/gpt-4o-mini');
  });

  it('ends a turn whose model fails with llm_api_error and an error saying why', async () => {
    const client = sdk();
    // The endpoint cannot list its models: the handle is taken as given, and fails later.
    fake.models = undefined;
    const agent = await client.agents.create({ name: 'ada', model: 'openai/gpt-5' });
    fake.failWith = {
      status: 404,
      message: 'The model `gpt-5` does not exist (key sk-operator-secret)',
    };
    const why =
      'The model API failed for model gpt-5: 404 The model `gpt-5` does not exist (key [redacted])';
    const body = { messages: [{ role: 'user' as const, content: 'hi' }] };
    const whole = await client.agents.messages.create(agent.id, body);
    expect(whole.stop_reason).toEqual({
      message_type: 'stop_reason',
      stop_reason: 'llm_api_error',
      error: why,
    });
    const seen: unknown[] = [];
    const streamed = (async () => {
      for await (const chunk of await client.agents.messages.create(agent.id, {
        ...body,
        streaming: true,
      })) {
        seen.push(chunk);
      }
    })();
    await expect(streamed).rejects.toThrow(why);
    expect(seen).toEqual([
      { message_type: 'stop_reason', stop_reason: 'llm_api_error', error: why },
    ]);
  });
});
