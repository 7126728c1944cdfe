import { BadRequestError, PermissionDeniedError } from '@letta-ai/letta-client';
import type { EmbeddingModel, Model } from '@letta-ai/letta-client/resources/models/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import { FakeOpenAI } from './support/fake-openai.js';
import { makeDeps } from './support/fixtures.js';
import { lettaClient, useLettaSdk } from './support/letta-sdk.js';
import { startTestServer, type TestServer } from './support/server.js';
import { useSuite } from './support/suite.js';

/** A model picker's calls: `models.list` and `models.embeddings.list`, from the provider. */
const s = useSuite({ server: true });
const { sdk, browserClient } = useLettaSdk(s);

describe('the builtin runtime', () => {
  it('lists its one model as Letta’s Model, and no embedding model', async () => {
    const client = sdk(s.acme.apiKey);
    const builtin: Model = {
      name: 'builtin',
      model: 'builtin',
      display_name: 'builtin',
      handle: 'builtin/builtin',
      model_type: 'llm',
      // Not one of the SDK's endpoint types: the same value the agents' llm_config carries.
      model_endpoint_type: 'builtin' as Model['model_endpoint_type'],
      provider_name: 'builtin',
      provider_type: 'letta',
      provider_category: 'base',
      context_window: 32_000,
      max_context_window: 32_000,
    };
    expect(await client.models.list()).toEqual([builtin]);
    expect(await client.models.list({ provider_type: 'letta' })).toEqual([builtin]);
    expect(await client.models.list({ provider_category: ['base'] })).toEqual([builtin]);
    expect(await client.models.list({ provider_category: ['byok'] })).toEqual([]);
    expect(await client.models.list({ provider_name: 'openai' })).toEqual([]);
    expect(await client.models.embeddings.list()).toEqual([]);
  });

  it('refuses a bad filter by name, and a client-side token', async () => {
    const client = sdk(s.acme.apiKey);
    const bad = await client.models
      .list({ provider_category: ['cheap' as 'base'] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('provider_category[0]');
    const browser = await browserClient(['read_agent', 'write_agent']);
    // One call at a time: a second promise made up front would reject before anyone awaits it.
    for (const call of [() => browser.models.list(), () => browser.models.embeddings.list()]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as Error).message).toContain('server-side API key');
    }
  });
});

describe('an OpenAI-compatible endpoint', () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    const runtime = new OpenAIRuntime({
      baseURL: fake.baseURL,
      apiKey: 'k',
      model: 'gpt-4o-mini',
      stream: true,
      contextWindow: 128_000,
    });
    server = await startTestServer(makeDeps(s.database, undefined, undefined, runtime));
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  const llm = (name: string): Model => ({
    name,
    model: name,
    display_name: name,
    handle: `openai/${name}`,
    model_type: 'llm',
    model_endpoint_type: 'openai',
    provider_name: 'openai',
    provider_type: 'openai',
    provider_category: 'base',
    context_window: 128_000,
    max_context_window: 128_000,
  });

  it('lists the configured model first, then the chat and embedding models it offers', async () => {
    fake.reset();
    fake.models = [
      'gpt-4.1',
      'gpt-4o-mini',
      'text-embedding-3-small',
      'nomic-embed-text',
      'whisper-1',
      'dall-e-3',
    ];
    const client = lettaClient(s.acme.apiKey, server.baseUrl);
    expect(await client.models.list()).toEqual([llm('gpt-4o-mini'), llm('gpt-4.1')]);
    expect(await client.models.list({ provider_type: 'openai' })).toHaveLength(2);
    const embedding = (name: string, dim: number): EmbeddingModel => ({
      name,
      embedding_model: name,
      display_name: name,
      handle: `openai/${name}`,
      model_type: 'embedding',
      embedding_endpoint_type: 'openai',
      embedding_dim: dim,
      provider_name: 'openai',
      provider_type: 'openai',
    });
    expect(await client.models.embeddings.list()).toEqual([
      embedding('text-embedding-3-small', 1536),
      embedding('nomic-embed-text', 1536),
    ]);
  });

  it('lists the configured model alone when the endpoint has no model list', async () => {
    fake.reset();
    const client = lettaClient(s.acme.apiKey, server.baseUrl);
    expect(await client.models.list()).toEqual([llm('gpt-4o-mini')]);
    expect(await client.models.embeddings.list()).toEqual([]);
  });

  it('lists the configured model alone when the endpoint is unreachable', async () => {
    const gone = await FakeOpenAI.start();
    const baseURL = gone.baseURL;
    await gone.close();
    const runtime = new OpenAIRuntime({ baseURL, apiKey: 'k', model: 'llama3', stream: true });
    const down = await startTestServer(makeDeps(s.database, undefined, undefined, runtime));
    try {
      const models = await lettaClient(s.acme.apiKey, down.baseUrl).models.list();
      expect(models.map((m) => m.handle)).toEqual(['openai/llama3']);
    } finally {
      await down.close();
    }
  });
});
