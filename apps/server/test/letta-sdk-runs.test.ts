import { BadRequestError, NotFoundError, PermissionDeniedError } from '@letta-ai/letta-client';
import type { LettaStreamingResponse, Run } from '@letta-ai/letta-client/resources/agents/messages';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, RuntimePart } from '../src/agent-runtime/runtime.js';
import { makeDeps, seedOrganization } from './support/fixtures.js';
import { lettaClient, refusal, useLettaSdk } from './support/letta-sdk.js';
import { startTestServer, type TestServer } from './support/server.js';
import { useSuite } from './support/suite.js';

/**
 * Background sends and runs, as a chat app with a stop-and-resume UI drives them: a send
 * answered with its run, the run read and listed, and its stream resumed after a `seq_id`.
 */
const s = useSuite({ server: true });
const { sdk, browserClient } = useLettaSdk(s);

async function chunksOf(stream: AsyncIterable<LettaStreamingResponse>) {
  const chunks: LettaStreamingResponse[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** The run of a send, as the SDK types it. */
const runShape = (agentId: string, fields: Partial<Run>): Run => ({
  id: expect.stringMatching(/^run-/),
  agent_id: agentId,
  background: expect.any(Boolean),
  created_at: expect.any(String),
  completed_at: expect.toBeOneOf([null, expect.any(String)]),
  stop_reason: expect.toBeOneOf([null, expect.any(String)]),
  status: expect.any(String),
  conversation_id: null,
  metadata: null,
  ...fields,
});

describe('a send in the background', () => {
  it('answers with its run at once; the run ends completed with its messages', async () => {
    const client = sdk(s.acme.apiKey);
    const agentId = s.acme.agentId;
    const run = await client.agents.messages.createAsync(agentId, {
      messages: [{ role: 'user', content: 'remember that I like tea' }],
    });
    expect(run).toEqual(
      runShape(agentId, { status: 'created', background: true, stop_reason: null }),
    );
    // The run's stream ends when the run does.
    const chunks = await chunksOf(await client.runs.messages.stream(run.id));
    expect(chunks.map((c) => c.message_type)).toEqual([
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'stop_reason',
    ]);
    for (const chunk of chunks.slice(0, 3)) {
      expect(chunk).toMatchObject({ run_id: run.id, seq_id: expect.any(Number), otid: null });
    }
    expect(chunks.at(-1)).toEqual({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    const done = await client.runs.retrieve(run.id);
    expect(done).toEqual(
      runShape(agentId, {
        id: run.id,
        status: 'completed',
        stop_reason: 'end_turn',
        background: true,
        completed_at: expect.any(String),
      }),
    );
    const stored = (await client.runs.messages.list(run.id)).items;
    expect(stored.map((m) => m.message_type)).toEqual([
      'user_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    // The memory was written: the background turn is a whole turn.
    const human = await client.agents.blocks.retrieve('human', { agent_id: agentId });
    expect(human.value).toContain('like tea');
  });

  it('resumes a run’s stream after the last seq_id a client saw', async () => {
    const client = sdk(s.acme.apiKey);
    const stream = await client.agents.messages.create(s.acme.agentId, {
      messages: [{ role: 'user', content: 'remember that I like tea' }],
      streaming: true,
    });
    const chunks = await chunksOf(stream);
    const messages = chunks.filter((c) => 'seq_id' in c && c.seq_id != null) as {
      seq_id: number;
      run_id: string;
      id: string;
    }[];
    expect(messages).toHaveLength(3);
    const runId = messages[0]?.run_id ?? '';
    expect(messages.every((m) => m.run_id === runId)).toBe(true);
    // The client saw the tool call, then lost the stream.
    const resumed = await chunksOf(
      await client.runs.messages.stream(runId, { starting_after: messages[0]?.seq_id ?? 0 }),
    );
    expect(resumed.map((c) => ('id' in c ? c.id : c.message_type))).toEqual([
      messages[1]?.id,
      messages[2]?.id,
      'stop_reason',
    ]);
    // The run was a plain send: listed, not in the background.
    const listed = (await client.runs.list({ agent_id: s.acme.agentId })).items;
    expect(listed.map((r) => [r.id, r.background, r.status])).toEqual([
      [runId, false, 'completed'],
    ]);
  });

  it('gives token pieces the seq_id to resume from, and the reply comes again whole', async () => {
    const client = sdk(s.acme.apiKey);
    const chunks = await chunksOf(
      await client.agents.messages.create(s.acme.agentId, {
        messages: [{ role: 'user', content: 'hello there' }],
        streaming: true,
        stream_tokens: true,
      }),
    );
    const pieces = chunks.filter((c) => c.message_type === 'assistant_message');
    expect(pieces.length).toBeGreaterThan(1);
    const first = pieces[0] as { id: string; run_id: string; seq_id: number; otid: null };
    expect(first).toMatchObject({ run_id: expect.stringMatching(/^run-/), otid: null });
    const resumed = await chunksOf(
      await client.runs.messages.stream(first.run_id, { starting_after: first.seq_id }),
    );
    expect(resumed).toEqual([
      expect.objectContaining({
        id: first.id,
        message_type: 'assistant_message',
        content: pieces.map((p) => ('content' in p ? p.content : '')).join(''),
      }),
      { message_type: 'stop_reason', stop_reason: 'end_turn' },
    ]);
  });
});

/** A runtime held at a gate until the test opens it, so a stream can follow a live run. */
class GatedRuntime implements AgentRuntime {
  entered!: Promise<void>;
  release!: () => void;
  #enter!: () => void;
  #gate: Promise<void>;
  constructor(private readonly answer: RuntimePart[]) {
    this.entered = new Promise((resolve) => {
      this.#enter = resolve;
    });
    this.#gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }
  llmConfig = () => ({ model: 'gated', model_endpoint_type: 'gated', context_window: 1 });
  async *respond(): AsyncIterable<RuntimePart> {
    this.#enter();
    await this.#gate;
    yield* this.answer;
  }
}

describe('a run still running', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });
  const serverWith = async (runtime: AgentRuntime) => {
    await server?.close();
    server = await startTestServer({ ...makeDeps(s.database), agentRuntime: runtime });
    return lettaClient(s.acme.apiKey, server.baseUrl);
  };

  it('is followed live to its end by a stream opened mid-turn', async () => {
    const runtime = new GatedRuntime([{ type: 'text', text: 'late reply' }]);
    const client = await serverWith(runtime);
    const run = await client.agents.messages.createAsync(s.acme.agentId, { input: 'slowly' });
    await runtime.entered;
    expect((await client.runs.retrieve(run.id)).status).toBe('running');
    expect((await client.runs.list({ active: true })).items.map((r) => r.id)).toEqual([run.id]);
    const stream = await client.runs.messages.stream(run.id);
    runtime.release();
    const chunks = await chunksOf(stream);
    expect(chunks).toEqual([
      expect.objectContaining({ message_type: 'assistant_message', content: 'late reply' }),
      { message_type: 'stop_reason', stop_reason: 'end_turn' },
    ]);
    expect((await client.runs.list({ active: true })).items).toEqual([]);
  });

  it('is cancelled before it starts when messages.cancel names it while it waits', async () => {
    const runtime = new GatedRuntime([{ type: 'text', text: 'first reply' }]);
    const client = await serverWith(runtime);
    const agentId = s.acme.agentId;
    const first = await client.agents.messages.createAsync(agentId, { input: 'first' });
    await runtime.entered;
    const second = await client.agents.messages.createAsync(agentId, { input: 'second' });
    expect((await client.runs.retrieve(second.id)).status).toBe('created');
    // Naming only the waiting run leaves the running one alone.
    expect(await client.agents.messages.cancel(agentId, { run_ids: [second.id] })).toEqual({
      [second.id]: 'cancelled',
    });
    const chunks = await chunksOf(await client.runs.messages.stream(second.id));
    expect(chunks).toEqual([{ message_type: 'stop_reason', stop_reason: 'cancelled' }]);
    expect(await client.runs.retrieve(second.id)).toMatchObject({
      status: 'cancelled',
      stop_reason: 'cancelled',
      completed_at: expect.any(String),
    });
    expect((await client.runs.messages.list(second.id)).items).toEqual([]);
    runtime.release();
    await chunksOf(await client.runs.messages.stream(first.id));
    expect(await client.runs.retrieve(first.id)).toMatchObject({ status: 'completed' });
    const stored = (await client.agents.messages.list(agentId, { order: 'asc' })).items;
    expect(stored.map((m) => ('content' in m ? m.content : m.message_type))).toEqual([
      'first',
      'first reply',
    ]);
  });

  it('ends failed when the model fails, with its stop reason', async () => {
    const failing: AgentRuntime = {
      llmConfig: () => ({ model: 'broken', model_endpoint_type: 'openai', context_window: 1 }),
      // biome-ignore lint/correctness/useYield: a model that fails before its first word
      async *respond() {
        throw new Error('model down');
      },
    };
    const client = await serverWith(failing);
    const run = await client.agents.messages.createAsync(s.acme.agentId, { input: 'hi' });
    const chunks = await chunksOf(await client.runs.messages.stream(run.id));
    expect(chunks.at(-1)).toEqual({ message_type: 'stop_reason', stop_reason: 'llm_api_error' });
    expect(await client.runs.retrieve(run.id)).toMatchObject({
      status: 'failed',
      stop_reason: 'llm_api_error',
    });
  });
});

describe('runs.list', () => {
  it('filters and pages the organization’s runs, newest first', async () => {
    const client = sdk(s.acme.apiKey);
    const ids: string[] = [];
    for (const [agentId, text] of [
      [s.acme.agentId, 'one'],
      [s.acme.otherAgentId, 'two'],
      [s.acme.agentId, 'three'],
    ] as const) {
      await client.agents.messages.create(agentId, { input: text });
      const [latest] = (await client.runs.list({ limit: 1 })).items;
      ids.push(latest?.id ?? '');
    }
    expect(new Set(ids).size).toBe(3);
    const all = (await client.runs.list()).items;
    expect(all.map((r) => r.id)).toEqual([...ids].reverse());
    expect(all[0]).toEqual(
      runShape(s.acme.agentId, {
        status: 'completed',
        background: false,
        stop_reason: 'end_turn',
      }),
    );
    const paged: string[] = [];
    for await (const run of client.runs.list({ limit: 2 })) paged.push(run.id);
    expect(paged).toEqual([...ids].reverse());
    expect((await client.runs.list({ order: 'asc' })).items.map((r) => r.id)).toEqual(ids);
    expect(
      (await client.runs.list({ agent_ids: [s.acme.otherAgentId] })).items.map((r) => r.id),
    ).toEqual([ids[1]]);
    expect((await client.runs.list({ statuses: ['failed'] })).items).toEqual([]);
    expect((await client.runs.list({ background: true })).items).toEqual([]);
    const bad = await refusal(client.runs.list({ statuses: ['done'] }));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad?.message).toContain('statuses[0]');
    await expect(client.runs.retrieve('run-nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('never shows another organization’s runs', async () => {
    const other = await seedOrganization(s.deps, 'other');
    const theirs = await sdk(other.apiKey).agents.messages.createAsync(other.agentId, {
      input: 'theirs',
    });
    const client = sdk(s.acme.apiKey);
    expect((await client.runs.list()).items).toEqual([]);
    await expect(client.runs.retrieve(theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.runs.messages.stream(theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    await chunksOf(await sdk(other.apiKey).runs.messages.stream(theirs.id));
  });
});

describe('a client-side token', () => {
  it('sends in the background with write_messages, as Letta Cloud allows', async () => {
    const browser = await browserClient(['write_messages']);
    const run = await browser.agents.messages.createAsync(s.acme.agentId, { input: 'hi' });
    expect(run).toEqual(runShape(s.acme.agentId, { status: 'created', background: true }));
    await chunksOf(await sdk(s.acme.apiKey).runs.messages.stream(run.id));
  });

  it('is refused a background send without write_messages, and every runs call', async () => {
    const browser = await browserClient(['read_messages', 'read_agent', 'write_agent']);
    const send = await refusal(browser.agents.messages.createAsync(s.acme.agentId, { input: 'x' }));
    expect(send).toBeInstanceOf(PermissionDeniedError);
    expect(send?.message).toContain(`write_messages on agent ${s.acme.agentId}`);
    const reader = await browserClient(['read_messages', 'write_messages']);
    const run = await reader.agents.messages.createAsync(s.acme.agentId, { input: 'hi' });
    for (const call of [
      () => reader.runs.retrieve(run.id),
      () => reader.runs.list(),
      () => reader.runs.messages.list(run.id),
      () => reader.runs.messages.stream(run.id),
    ]) {
      const error = await refusal(call());
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error?.message).toContain('server-side API key');
    }
    await chunksOf(await sdk(s.acme.apiKey).runs.messages.stream(run.id));
  });
});
