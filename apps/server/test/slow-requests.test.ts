import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import type { RequestTimeouts } from '../src/http/request-timeouts.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';

// A request may take only so long to arrive, headers and body, however slowly its bytes
// trickle in; answers are not timed, however long they stream. Short timeouts here, so the
// server's own check (not a sleep of the test's) decides when a slow request is cut.
const s = useSuite();
const TIMEOUTS: RequestTimeouts = { headersMs: 300, requestMs: 600 };

let app: FastifyInstance | undefined;
const clients = new Set<Socket>();
afterEach(async () => {
  for (const socket of clients) socket.destroy();
  clients.clear();
  await app?.close();
  app = undefined;
});

async function listen(deps = s.deps) {
  app = await buildApp({ deps, logLevel: 'silent', requestTimeouts: TIMEOUTS });
  return new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
}

/**
 * A client on a raw socket that writes `head`, then one byte of `trickle` every 20 ms for as
 * long as the connection stays open. Resolves with what the server answered once it closes.
 */
function slowClient(url: URL, head: string, trickle = '') {
  const socket = connect(Number(url.port), url.hostname);
  clients.add(socket);
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
  });
  socket.on('error', () => {});
  socket.write(head);
  let sent = 0;
  const timer = setInterval(() => {
    if (trickle === '' || socket.destroyed || !socket.writable) return;
    socket.write(trickle[sent++ % trickle.length] ?? '');
  }, 20);
  return new Promise<string>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(answer);
    }),
  );
}

function expectTimedOut(answer: string) {
  expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  expect(answer).toMatch(/\r\nconnection: close\r\n/i);
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
    error: 'Request Timeout',
    message: 'Request timed out',
  });
}

const bodyThatStalls = (url: URL) =>
  slowClient(
    url,
    `POST /v1/agents/${s.acme.agentId}/messages HTTP/1.1\r\nhost: ${url.host}\r\n` +
      `authorization: Bearer ${s.acme.apiKey}\r\ncontent-type: application/json\r\n` +
      `content-length: 1000\r\n\r\n{"messages":`,
  );

describe('a request that is slow to arrive', () => {
  it('is answered 408 and closed when its headers trickle in', { timeout: 10_000 }, async () => {
    const url = await listen();
    expectTimedOut(
      await slowClient(url, `GET /healthz HTTP/1.1\r\nhost: ${url.host}\r\nx-pad: `, 'abcdef'),
    );
  });

  it('is closed when it sends nothing at all after connecting', { timeout: 10_000 }, async () => {
    const url = await listen();
    expectTimedOut(await slowClient(url, ''));
  });

  it('is answered 408 when its body never completes, trickling or stalled', {
    timeout: 10_000,
  }, async () => {
    const url = await listen();
    expectTimedOut(await bodyThatStalls(url));
    const trickling = slowClient(
      url,
      `POST /v1/agents/${s.acme.agentId}/messages HTTP/1.1\r\nhost: ${url.host}\r\n` +
        `authorization: Bearer ${s.acme.apiKey}\r\ncontent-type: application/json\r\n` +
        `content-length: 100000\r\n\r\n`,
      ' ',
    );
    expectTimedOut(await trickling);
    // Nothing was stored, and the server answers the next request as ever.
    const health = await fetch(new URL('/healthz', url));
    expect(health.status).toBe(200);
  });
});

describe('a long answer', () => {
  it('is not cut: a live event stream outlasts the request timeout', {
    timeout: 15_000,
  }, async () => {
    const url = await listen();
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages'] }],
    });
    const query = new URLSearchParams({ input: JSON.stringify({ agentId: s.acme.agentId }) });
    const stream = await fetch(new URL(`/trpc/messages.events?${query}`, url), {
      headers: {
        accept: 'text/event-stream',
        origin: APP_ORIGIN,
        authorization: `Bearer ${token}`,
      },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body ?? new ReadableStream<Uint8Array>()).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/event: connected/);
    // A request opened after the stream, cut at its request timeout: the stream, older, has
    // been open longer than that by the time the cut is seen.
    expectTimedOut(await bodyThatStalls(url));
    const sent = await fetch(new URL(`/v1/agents/${s.acme.agentId}/messages`, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'still there?' }] }),
    });
    expect(sent.status).toBe(200);
    await readUntil(/still there\?/);
    await reader.cancel();
  });

  it('is not cut: a streamed turn outlasts the request timeout', { timeout: 15_000 }, async () => {
    const runtime = new ScriptedRuntime({ opening: ['thinking '], pieces: ['done'], gated: true });
    const url = await listen({ ...s.deps, agentRuntime: runtime });
    const response = await fetch(new URL(`/v1/agents/${s.acme.agentId}/messages/stream`, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'take your time' }],
        stream_tokens: true,
      }),
    });
    expect(response.status).toBe(200);
    while (runtime.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expectTimedOut(await bodyThatStalls(url));
    runtime.release();
    const text = await response.text();
    expect(text).toContain('done');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
