import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OpenAIRuntime } from '../src/agent-runtime/openai.js';
import {
  type AgentRuntime,
  AgentRuntimeError,
  type RuntimePart,
} from '../src/agent-runtime/runtime.js';
import { deleteAgent } from '../src/agents/agent-delete.js';
import { getAgent } from '../src/agents/agent-read.js';
import { listMessages, sendMessages } from '../src/conversation/messages.js';
import { TurnQueue } from '../src/conversation/turn-queue.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { AppError } from '../src/errors.js';
import { FakeOpenAI } from './support/fake-openai.js';
import { seedOrganization } from './support/fixtures.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { SlowRuntime } from './support/slow-runtime.js';
import { useSuite } from './support/suite.js';

const s = useSuite();

const send = (content: string, d: ServiceDeps = s.deps, agentId = s.acme.agentId) =>
  sendMessages(d, {
    organizationId: s.acme.organizationId,
    agentId,
    messages: [{ role: 'user', content }],
  });

const storedCount = async () =>
  (await s.database.db.select({ n: count() }).from(messages))[0]?.n ?? -1;

describe('sending', () => {
  it('stores the message and the reply, and answers in Letta’s shape', async () => {
    const response = await send('hello');
    expect(response.stop_reason).toEqual({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    expect(response.messages).toHaveLength(1);
    expect(response.messages[0]).toMatchObject({ message_type: 'assistant_message' });
    expect(response.messages[0]?.content).toContain('hello');
    expect(response.usage).toMatchObject({ message_type: 'usage_statistics', step_count: 1 });
    expect(response.usage.total_tokens).toBe(
      response.usage.prompt_tokens + response.usage.completion_tokens,
    );
    const listed = await listMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
    });
    expect(listed.map((m) => m.message_type)).toEqual(['assistant_message', 'user_message']);
    expect(listed[1]?.content).toBe('hello');
    expect(listed[0]?.run_id).toBe(listed[1]?.run_id);
  });

  it('accepts Letta’s text parts and keeps the client’s otid', async () => {
    await sendMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
          otid: 'o-1',
        },
      ],
    });
    const [, user] = await listMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
    });
    expect(user).toMatchObject({ content: 'ab', otid: 'o-1' });
  });

  it('remembers across turns through its memory blocks', async () => {
    await send('remember that I like tea');
    const agent = await getAgent(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
    });
    expect(agent.memoryBlocks.find((b) => b.label === 'human')?.value).toBe('- I like tea');
    const answer = await send('what do you know about me?');
    expect(answer.messages[0]?.content).toBe('You told me that you like tea.');
  });

  it.each([
    ['empty', '', 'messages.0.content: must not be empty'],
    ['blank', '  \n ', 'messages.0.content: must not be empty'],
    [
      'over the limit',
      'x'.repeat(32 * 1024 + 1),
      'messages.0.content: is 32769 bytes; at most 32768 are allowed',
    ],
  ])('refuses an %s message and stores nothing', async (_, content, message) => {
    const error = await send(content).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toBe(message);
    expect(await storedCount()).toBe(0);
  });

  it('counts the limit in bytes, and takes a configured limit', async () => {
    const small = { ...s.deps, limits: { ...s.deps.limits, messageMaxBytes: 4 } };
    await expect(send('ééé', small)).rejects.toThrow('is 6 bytes; at most 4 are allowed');
    await expect(send('four', small)).resolves.toMatchObject({
      stop_reason: { stop_reason: 'end_turn' },
    });
  });

  it('refuses an empty list of messages', async () => {
    await expect(
      sendMessages(s.deps, {
        organizationId: s.acme.organizationId,
        agentId: s.acme.agentId,
        messages: [],
      }),
    ).rejects.toThrow('messages: must not be empty');
    expect(await storedCount()).toBe(0);
  });

  it('answers 404 for an agent of another organization and stores nothing', async () => {
    const globex = await seedOrganization(s.deps, 'globex');
    const error = await send('hi', s.deps, globex.agentId).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    expect(await storedCount()).toBe(0);
  });
});

describe('listing', () => {
  beforeEach(async () => {
    for (const text of ['one', 'two', 'three']) await send(text);
  });
  const list = (
    query: Parameters<typeof listMessages>[1] extends infer A
      ? Omit<A & object, 'organizationId' | 'agentId'>
      : never,
  ) =>
    listMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      ...query,
    });

  it('is newest first by default, oldest first on request, and limited', async () => {
    const desc = await list({});
    expect(desc).toHaveLength(6);
    expect(desc.map((m) => m.seq_id)).toEqual([...desc.map((m) => m.seq_id)].sort((a, b) => b - a));
    const asc = await list({ order: 'asc', limit: 2 });
    expect(asc.map((m) => m.content)).toEqual(['one', expect.stringContaining('one')]);
  });

  it('pages with before and after cursors, exclusive, in the list’s own order', async () => {
    const all = await list({ order: 'asc' });
    const third = all[2];
    if (!third) throw new Error('expected six messages');
    const ids = (page: { id: string }[]) => page.map((m) => m.id);
    expect(ids(await list({ before: third.id, order: 'asc' }))).toEqual(ids(all.slice(0, 2)));
    expect(ids(await list({ after: third.id, order: 'asc', limit: 2 }))).toEqual(
      ids(all.slice(3, 5)),
    );
    // Newest first: "after" is older, "before" is newer, and a before-page is the nearest ones.
    expect(ids(await list({ after: third.id }))).toEqual(ids(all.slice(0, 2).reverse()));
    expect(ids(await list({ before: third.id, limit: 2 }))).toEqual(ids(all.slice(3, 5).reverse()));
    expect(ids(await list({ after: all[4]?.id ?? '', before: all[1]?.id ?? '' }))).toEqual(
      ids(all.slice(2, 4).reverse()),
    );
  });

  it('pages through the whole conversation by following the last id, as the SDK does', async () => {
    const all = await list({ order: 'desc' });
    const seen: string[] = [];
    let page = await list({ limit: 4 });
    while (page.length > 0) {
      seen.push(...page.map((m) => m.id));
      page = await list({ limit: 4, after: page.at(-1)?.id ?? '' });
    }
    expect(seen).toEqual(all.map((m) => m.id));
  });

  it('refuses a cursor from another conversation, and a bad limit', async () => {
    const other = await sendMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.otherAgentId,
      messages: [{ role: 'user', content: 'elsewhere' }],
    });
    const foreign = other.messages[0]?.id ?? '';
    await expect(list({ before: foreign })).rejects.toThrow(`before: message ${foreign} not found`);
    await expect(list({ limit: 0 })).rejects.toThrow('limit: must be at least 1');
  });
});

describe('one turn at a time per agent', () => {
  it('queues concurrent sends: replies never interleave and each follows its message', async () => {
    const slow = new SlowRuntime();
    const slowDeps = { ...s.deps, agentRuntime: slow };
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const responses = await Promise.all(texts.map((t) => send(t, slowDeps)));
    expect(slow.maxRunning).toBe(1);
    expect(responses.map((r) => r.messages[0]?.content)).toEqual(texts.map((t) => `re: ${t}`));
    const conversation = await listMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      order: 'asc',
    });
    for (let i = 0; i < conversation.length; i += 2) {
      const [user, reply] = [conversation[i], conversation[i + 1]];
      expect(user?.message_type).toBe('user_message');
      expect(reply?.content).toBe(`re: ${user?.content}`);
      expect(reply?.run_id).toBe(user?.run_id);
    }
  });

  it('gives up a send that waits behind another turn too long, storing nothing of it', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['done'], gated: true });
    const queued = {
      ...s.deps,
      agentRuntime: runtime,
      turns: new TurnQueue(undefined, { maxWaitMs: 100 }),
    };
    const first = send('a long one', queued);
    while (runtime.started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await send('behind it', queued).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(AppError);
    expect(second).toMatchObject({
      code: 'CONFLICT',
      shouldRetry: false,
      message: 'The agent has been busy with another turn for 0.1 seconds; try again later',
    });
    runtime.release();
    await expect(first).resolves.toMatchObject({ messages: [{ content: 'done' }] });
    const stored = await s.database.db.select().from(messages);
    expect(stored.map((m) => m.content).sort()).toEqual(['a long one', 'done']);
  });

  it('answers 404, not a server error, to sends whose agent is deleted while they run or wait', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['too late'], gated: true });
    const gated = { ...s.deps, agentRuntime: runtime };
    const running = send('first', gated).catch((e: unknown) => e);
    while (runtime.started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const queued = send('second', gated).catch((e: unknown) => e);
    await deleteAgent(s.deps, { organizationId: s.acme.organizationId, agentId: s.acme.agentId });
    runtime.release();
    for (const outcome of [await running, await queued]) {
      expect(outcome).toBeInstanceOf(AppError);
      expect(outcome).toMatchObject({
        code: 'NOT_FOUND',
        message: `Agent ${s.acme.agentId} not found`,
      });
    }
    expect(await storedCount()).toBe(0);
  });

  it('runs turns of different agents side by side', async () => {
    const slow = new SlowRuntime();
    const slowDeps = { ...s.deps, agentRuntime: slow };
    await Promise.all([
      send('x', slowDeps, s.acme.agentId),
      send('y', slowDeps, s.acme.otherAgentId),
    ]);
    expect(slow.maxRunning).toBe(2);
  });
});

describe('when the model fails', () => {
  class FailingRuntime implements AgentRuntime {
    llmConfig = () => ({ model: 'failing', model_endpoint_type: 'failing', context_window: 0 });
    // biome-ignore lint/correctness/useYield: it fails before producing anything, by design
    async *respond(): AsyncIterable<RuntimePart> {
      throw new AgentRuntimeError('The model API failed: 503 overloaded');
    }
  }

  it('keeps the user’s message, ends with llm_api_error and a readable error, and recovers', async () => {
    const response = await send('hello?', { ...s.deps, agentRuntime: new FailingRuntime() });
    expect(response.messages).toEqual([]);
    expect(response.stop_reason).toEqual({
      message_type: 'stop_reason',
      stop_reason: 'llm_api_error',
      error: 'The model API failed: 503 overloaded',
    });
    const stored = await s.database.db
      .select()
      .from(messages)
      .where(eq(messages.agentId, s.acme.agentId));
    expect(stored.map((m) => [m.messageType, m.content])).toEqual([['user_message', 'hello?']]);
    await expect(send('again')).resolves.toMatchObject({
      stop_reason: { stop_reason: 'end_turn' },
    });
  });

  describe('that stops sending, through the openai runtime', () => {
    let fake: FakeOpenAI;
    beforeAll(async () => {
      fake = await FakeOpenAI.start();
    });
    afterAll(() => fake.close());
    beforeEach(() => fake.reset());
    const withTimeouts = (limits: Partial<ServiceDeps['limits']>) => ({
      ...s.deps,
      agentRuntime: new OpenAIRuntime({
        baseURL: fake.baseURL,
        apiKey: 'k',
        model: 'm',
        stream: true,
      }),
      limits: { ...s.deps.limits, ...limits },
    });

    it('stops a turn quiet for the idle timeout, keeping the user’s message and the agent free', async () => {
      fake.midStream = { after: 2, does: 'stall' };
      const stalled = withTimeouts({ turnIdleTimeoutMs: 200 });
      const response = await send('tell me a story', stalled);
      expect(response.messages).toEqual([]);
      expect(response.stop_reason).toEqual({
        message_type: 'stop_reason',
        stop_reason: 'llm_api_error',
        error: 'The model sent nothing for 0.2 seconds; the turn was stopped',
      });
      // The request to the model was given up, not left open.
      while (fake.abandoned === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const stored = await s.database.db.select().from(messages);
      expect(stored.map((m) => m.content)).toEqual(['tell me a story']);
      fake.midStream = undefined;
      await expect(send('again', stalled)).resolves.toMatchObject({
        messages: [{ content: 'echo: again' }],
      });
    });

    it('gives up the request to the model when the turn fails on its side mid-reply', async () => {
      // The model holds its reply open; the turn's own part (here the caller's handler of its
      // events; a NOTIFY in an outage, a memory write) fails at the first piece.
      fake.midStream = { after: 2, does: 'stall' };
      const failure = new Error('the caller cannot take the reply');
      await expect(
        sendMessages(withTimeouts({}), {
          organizationId: s.acme.organizationId,
          agentId: s.acme.agentId,
          messages: [{ role: 'user', content: 'tell me a story' }],
          onEvent: (event) => {
            if (event.type === 'delta') throw failure;
          },
        }),
      ).rejects.toBe(failure);
      await vi.waitFor(() => expect(fake.abandoned).toBe(1), { timeout: 5_000 });
    });

    it('stops a turn that outlasts the turn timeout, however steadily the model sends', async () => {
      fake.pieceDelayMs = 20;
      fake.reply = () => 'word '.repeat(500);
      const response = await send('go on', withTimeouts({ turnTimeoutMs: 300 }));
      expect(response.stop_reason).toMatchObject({
        stop_reason: 'llm_api_error',
        error: 'The model did not finish its reply within 0.3 seconds; the turn was stopped',
      });
      expect(await storedCount()).toBe(1);
    });
  });

  it('through the openai runtime: a failing endpoint, then a working one with a bounded history', async () => {
    const fake = await FakeOpenAI.start();
    try {
      const openai = {
        ...s.deps,
        agentRuntime: new OpenAIRuntime({
          baseURL: fake.baseURL,
          apiKey: 'k',
          model: 'm',
          stream: true,
        }),
        limits: { ...s.deps.limits, historyWindow: 2 },
      };
      fake.failWith = { status: 500, message: 'boom' };
      const failed = await send('first', openai);
      expect(failed.stop_reason.stop_reason).toBe('llm_api_error');
      expect(failed.stop_reason.error).toMatch(/^The model API failed for model m: 500/);
      fake.failWith = undefined;
      await send('second', openai);
      const third = await send('third', openai);
      expect(third.messages[0]?.content).toBe('echo: third');
      // system, the 2 messages before this send (first is not among them), and the send.
      const last = fake.requests.at(-1);
      expect(last?.messages.map((m) => m.content).slice(1)).toEqual([
        'second',
        'echo: second',
        'third',
      ]);
      // A send of more messages than the window still reaches the model whole.
      await sendMessages(openai, {
        organizationId: s.acme.organizationId,
        agentId: s.acme.agentId,
        messages: ['a', 'b', 'c'].map((content) => ({ role: 'user' as const, content })),
      });
      expect(
        fake.requests
          .at(-1)
          ?.messages.map((m) => m.content)
          .slice(1),
      ).toEqual(['third', 'echo: third', 'a', 'b', 'c']);
    } finally {
      await fake.close();
    }
  });
});
