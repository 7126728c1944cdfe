import Letta from '@letta-ai/letta-client';
import { describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/agent-runtime/runtime.js';
import { TurnQueue } from '../src/conversation/turn-queue.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { buildApp } from '../src/http/app.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { startTestServer } from './support/server.js';
import { useSuite } from './support/suite.js';
import { trpcError } from './support/trpc-error.js';

const s = useSuite({ server: true });

const send = (body: unknown, baseUrl = s.server.baseUrl) =>
  fetch(`${baseUrl}/v1/agents/${s.acme.agentId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const storedMessages = () => s.database.db.select().from(messages);

describe('sending over HTTP', () => {
  it('takes a 30 KB message and answers 200 with the reply', async () => {
    const content = 'a cup of tea, ünïcødé € 🫖 '.repeat(900).trim();
    expect(Buffer.byteLength(content)).toBeGreaterThan(30 * 1024);
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(32 * 1024);
    const response = await send({ messages: [{ role: 'user', content }] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      messages: { message_type: string; content: string }[];
    };
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]?.content).toContain(content);
    expect((await storedMessages()).map((m) => m.content)).toContain(content);
  });

  it('refuses an oversize message with 413 and an empty one with 400, storing nothing', async () => {
    for (const streaming of [false, true]) {
      const oversize = await send({
        messages: [{ role: 'user', content: 'x'.repeat(32 * 1024 + 1) }],
        streaming,
      });
      expect(oversize.status).toBe(413);
      expect(((await oversize.json()) as { message: string }).message).toMatch(
        /messages\.0\.content.*32769 bytes; at most 32768/,
      );
      const empty = await send({ messages: [{ role: 'user', content: '  ' }], streaming });
      expect(empty.status).toBe(400);
      expect(((await empty.json()) as { message: string }).message).toMatch(
        /messages\.0\.content.*must not be empty/,
      );
    }
    expect(await storedMessages()).toEqual([]);
  });
});

/** Reads an SSE answer to its end, in chunks; `onText` sees the text so far as it grows. */
async function readChunks(response: Response, onText?: (text: string) => void) {
  let text = '';
  const decoder = new TextDecoder();
  for await (const piece of response.body ?? []) {
    text += decoder.decode(piece, { stream: true });
    onText?.(text);
  }
  return text.split('\n\n').filter(Boolean);
}

const PING = 'data: {"message_type":"ping"}';
const parse = (chunk: string) =>
  JSON.parse(chunk.replace(/^data: /, '')) as Record<string, unknown>;

describe('streaming over HTTP', () => {
  it('sends keep-alive pings while the model is slow, and never echoes the user’s message', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['pong ', 'back'], gated: true });
    const app = await buildApp({
      deps: { ...s.deps, agentRuntime: runtime },
      logLevel: 'silent',
      streamPingMs: 5,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await send(
        {
          messages: [{ role: 'user', content: 'a question only the user wrote' }],
          streaming: true,
          stream_tokens: true,
        },
        url,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // The model answers only once a ping has been seen: no race with the interval.
      const chunks = await readChunks(response, (text) => {
        if (text.includes(PING)) runtime.release();
      });
      expect(chunks[0]).toBe(PING);
      const rest = chunks.filter((c) => c !== PING);
      expect(rest.slice(0, 2).map(parse)).toMatchObject([
        { message_type: 'assistant_message', content: 'pong ' },
        { message_type: 'assistant_message', content: 'back' },
      ]);
      expect(rest.slice(2, 4).map(parse)).toMatchObject([
        { message_type: 'stop_reason', stop_reason: 'end_turn' },
        { message_type: 'usage_statistics', completion_tokens: 2 },
      ]);
      expect(rest.slice(4)).toEqual(['data: [DONE]']);
      expect(chunks.join('\n')).not.toMatch(/a question only the user wrote|user_message/);
    } finally {
      await app.close();
    }
  });

  it('answers its head at once, not with the first ping or piece', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    // The default ping interval: no write comes before the model answers.
    const app = await buildApp({ deps: { ...s.deps, agentRuntime: runtime }, logLevel: 'silent' });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await send(
        { messages: [{ role: 'user', content: 'hi' }], streaming: true },
        url,
      );
      expect(response.status).toBe(200);
      // The head came while the model had not answered, and nothing had been written.
      runtime.release();
      const chunks = await readChunks(response);
      expect(parse(chunks[0] ?? '')).toMatchObject({ message_type: 'assistant_message' });
    } finally {
      await app.close();
    }
  });

  it('ends a turn whose model fails mid-reply with the stop reason, an error event, then [DONE]', async () => {
    const failure = 'The model endpoint answered 503: overloaded';
    const runtime = new ScriptedRuntime({ pieces: ['half a '], failure });
    const server = await startTestServer({ ...s.deps, agentRuntime: runtime });
    try {
      const body = {
        messages: [{ role: 'user' as const, content: 'tell me everything' }],
        streaming: true as const,
        stream_tokens: true,
      };
      const response = await send(body, server.baseUrl);
      expect(response.status).toBe(200);
      const chunks = await readChunks(response);
      expect(chunks).toHaveLength(4);
      expect(parse(chunks[0] ?? '')).toMatchObject({
        message_type: 'assistant_message',
        content: 'half a ',
      });
      expect(parse(chunks[1] ?? '')).toEqual({
        message_type: 'stop_reason',
        stop_reason: 'llm_api_error',
        error: failure,
      });
      expect(chunks[2]).toBe(
        `event: error\ndata: ${JSON.stringify({ message_type: 'error_message', error_type: 'llm_api_error', message: failure })}`,
      );
      expect(chunks[3]).toBe('data: [DONE]');

      // The SDK surfaces the error event as an error, after the pieces before it.
      const client = new Letta({ apiKey: s.acme.apiKey, baseURL: server.baseUrl, maxRetries: 0 });
      const seen: string[] = [];
      const reading = (async () => {
        for await (const chunk of await client.agents.messages.create(s.acme.agentId, body)) {
          seen.push(String(chunk.message_type));
        }
      })();
      await expect(reading).rejects.toThrow(failure);
      expect(seen).toEqual(['assistant_message', 'stop_reason']);

      // The user's messages stay; no half reply is stored.
      const stored = await storedMessages();
      expect(stored.map((m) => m.messageType)).toEqual(['user_message', 'user_message']);
    } finally {
      await server.close();
    }
  });
});

/** A queue that counts the sends that have come to it and those it is done with. */
class WatchedQueue extends TurnQueue {
  entered = 0;
  settled = 0;
  override async run<T>(...args: Parameters<TurnQueue['run']>): Promise<T> {
    this.entered += 1;
    try {
      return (await super.run(...args)) as T;
    } finally {
      this.settled += 1;
    }
  }
}

describe('a send and the agent’s queue', () => {
  const listen = async (deps: ServiceDeps) => {
    const app = await buildApp({ deps, logLevel: 'silent', streamPingMs: 5 });
    return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
  };
  const waitFor = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('opens before waiting for the agent, so a send queued behind a long turn hears pings', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    const { app, url } = await listen({ ...s.deps, agentRuntime: runtime });
    try {
      const first = send({ messages: [{ role: 'user', content: 'a long one' }] }, url);
      await waitFor(() => runtime.started === 1);
      const queued = await send(
        { messages: [{ role: 'user', content: 'behind it' }], streaming: true },
        url,
      );
      // The answer has begun while the first turn still holds the agent.
      expect(queued.status).toBe(200);
      expect(runtime.started).toBe(1);
      const chunks = await readChunks(queued, (text) => {
        if (text.includes(PING)) runtime.release();
      });
      expect(chunks[0]).toBe(PING);
      const rest = chunks.filter((c) => c !== PING);
      expect(rest.slice(0, 3).map(parse)).toMatchObject([
        { message_type: 'assistant_message', content: 'answered' },
        { message_type: 'stop_reason', stop_reason: 'end_turn' },
        { message_type: 'usage_statistics' },
      ]);
      expect(rest.slice(3)).toEqual(['data: [DONE]']);
      expect((await first).status).toBe(200);
      expect((await storedMessages()).map((m) => m.content).sort()).toEqual(
        ['a long one', 'answered', 'answered', 'behind it'].sort(),
      );
    } finally {
      await app.close();
    }
  });

  it('tells a send that waited too long, in-stream, that the agent is busy', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    const turns = new TurnQueue(undefined, { maxWaitMs: 50 });
    const { app, url } = await listen({ ...s.deps, agentRuntime: runtime, turns });
    try {
      const first = send({ messages: [{ role: 'user', content: 'a long one' }] }, url);
      await waitFor(() => runtime.started === 1);
      const queued = await send(
        { messages: [{ role: 'user', content: 'behind it' }], streaming: true },
        url,
      );
      const chunks = (await readChunks(queued)).filter((c) => c !== PING);
      expect(chunks).toEqual([
        'data: {"message_type":"stop_reason","stop_reason":"error"}',
        `event: error\ndata: ${JSON.stringify({
          message_type: 'error_message',
          error_type: 'conflict',
          message: 'The agent has been busy with another turn for 0.1 seconds; try again later',
        })}`,
        'data: [DONE]',
      ]);
      runtime.release();
      expect((await first).status).toBe(200);
      expect((await storedMessages()).map((m) => m.content)).not.toContain('behind it');
    } finally {
      await app.close();
    }
  });

  it('gives up a send still queued when its client leaves, so a retry is not stored twice', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    const turns = new WatchedQueue();
    const { app, url } = await listen({ ...s.deps, agentRuntime: runtime, turns });
    try {
      const first = send({ messages: [{ role: 'user', content: 'a long one' }] }, url);
      await waitFor(() => runtime.started === 1);
      const client = new AbortController();
      const left = fetch(`${url}/v1/agents/${s.acme.agentId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'timed out' }] }),
        signal: client.signal,
      }).catch(() => 'left');
      await waitFor(() => turns.entered === 2);
      client.abort();
      expect(await left).toBe('left');
      // The server gives the queued send up before the agent is free.
      await waitFor(() => turns.settled === 1);
      runtime.release();
      expect((await first).status).toBe(200);
      expect(runtime.started).toBe(1);
      expect((await storedMessages()).map((m) => m.content).sort()).toEqual([
        'a long one',
        'answered',
      ]);
    } finally {
      await app.close();
    }
  });

  it('gives up a tRPC send still queued when its call is aborted', async () => {
    const runtime = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    const deps = { ...s.deps, agentRuntime: runtime };
    const call = new AbortController();
    const caller = createCallerFactory(appRouter)(
      createContextFromHeaders(deps, { authorization: `Bearer ${s.acme.apiKey}` }),
      { signal: call.signal },
    );
    const first = caller.messages.send({ agentId: s.acme.agentId, content: 'a long one' });
    await waitFor(() => runtime.started === 1);
    const queued = trpcError(caller.messages.send({ agentId: s.acme.agentId, content: 'behind' }));
    call.abort();
    const refused = await queued;
    expect(refused).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('given up'),
    });
    runtime.release();
    await expect(first).resolves.toMatchObject({ messages: [{ content: 'answered' }] });
    expect((await storedMessages()).map((m) => m.content)).not.toContain('behind');
  });

  it('ends a turn that fails on the server with an internal error, logged, not shown', async () => {
    // A reply that cannot be stored (PostgreSQL text holds no NUL): a server fault, not the model's.
    const broken: AgentRuntime = {
      llmConfig: () => ({ model: 'broken', model_endpoint_type: 'broken', context_window: 0 }),
      async *respond() {
        yield { type: 'text', text: 'a\u0000b' };
      },
    };
    const lines: string[] = [];
    const server = await startTestServer(
      { ...s.deps, agentRuntime: broken },
      { level: 'error', stream: { write: (line) => lines.push(line) } },
    );
    try {
      const response = await send(
        { messages: [{ role: 'user', content: 'remember this' }], streaming: true },
        server.baseUrl,
      );
      expect(response.status).toBe(200);
      expect(await readChunks(response)).toEqual([
        'data: {"message_type":"stop_reason","stop_reason":"error"}',
        `event: error\ndata: ${JSON.stringify({
          message_type: 'error_message',
          error_type: 'internal_error',
          message: 'The turn failed on the server; the messages sent were stored if acknowledged.',
        })}`,
        'data: [DONE]',
      ]);
      const logged = lines.map((line) => JSON.parse(line) as { msg: string; err?: unknown });
      // The log keeps PostgreSQL's reason down the cause chain; the statement's parameters are cut.
      const err = logged.find((l) => l.msg === 'streamed turn failed')?.err;
      expect(JSON.stringify(err)).toContain('invalid byte sequence');
      expect(err).toMatchObject({ message: expect.stringContaining('params: [redacted]') });
      expect((await storedMessages()).map((m) => m.content)).toEqual(['remember this']);
    } finally {
      await server.close();
    }
  });
});
