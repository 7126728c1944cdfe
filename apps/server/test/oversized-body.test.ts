import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyLimitFor } from '../src/http/body-limit.js';
import { OVERSIZED_BODY_READ_FACTOR } from '../src/http/oversized-body.js';
import { useSuite } from './support/suite.js';
import { TcpProxy } from './support/tcp-proxy.js';

// A body over the limit gets a 413 its client can read. Closed while the client still sends,
// the connection is reset, and a reset passed on by a load balancer (here a TCP relay, which
// closes its client's side when the server's side is reset) throws the answer away.
const s = useSuite({ server: true });
const relay = { proxy: undefined as TcpProxy | undefined, url: '' };
beforeAll(async () => {
  const server = new URL(s.server.baseUrl);
  relay.proxy = new TcpProxy(server.hostname, Number(server.port));
  relay.url = `http://127.0.0.1:${await relay.proxy.start()}`;
});
afterAll(() => relay.proxy?.cut());

const limit = () => bodyLimitFor(s.deps.limits.messageMaxBytes);
const refusal = () => ({
  error: 'Payload Too Large',
  message: `The request body is larger than ${limit()} bytes`,
});

/** A send whose body is `size` bytes, declared up front or streamed in 64 KiB chunks. */
const send = (size: number, streamed: boolean) => {
  let sent = 0;
  const body = streamed
    ? new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close();
          controller.enqueue(new Uint8Array(64 * 1024).fill(120));
          sent += 64 * 1024;
        },
      })
    : 'x'.repeat(size);
  return fetch(`${relay.url}/v1/agents/${s.acme.agentId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit);
};

describe('a body over the limit', () => {
  it('is a 413 that Node’s fetch reads, declared or streamed, through a relay', async () => {
    for (const streamed of [false, true]) {
      const response = await send(8 * limit(), streamed);
      expect(response.status).toBe(413);
      expect(response.headers.get('connection')).toBe('close');
      expect(await response.json()).toEqual(refusal());
    }
    // The server still answers, and stored nothing.
    const ok = await fetch(`${relay.url}/v1/agents/${s.acme.agentId}`, {
      headers: { authorization: `Bearer ${s.acme.apiKey}` },
    });
    expect(ok.status).toBe(200);
  });

  it('is read to its end before the answer, and the connection closes only after it', async () => {
    const server = new URL(s.server.baseUrl);
    const socket = connect(Number(server.port), server.hostname);
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    const size = 4 * limit();
    let written = 0;
    let answer = '';
    let writtenWhenAnswered = -1;
    let writtenWhenClosed = -1;
    socket.on('data', (chunk) => {
      if (answer === '') writtenWhenAnswered = written;
      answer += chunk.toString();
    });
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        writtenWhenClosed = written;
        resolve();
      }),
    );
    socket.on('error', () => {});
    socket.write(
      `POST /v1/agents/${s.acme.agentId}/messages HTTP/1.1\r\nhost: ${server.host}\r\n` +
        `authorization: Bearer ${s.acme.apiKey}\r\ncontent-type: application/json\r\n` +
        `content-length: ${size}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 120);
    while (written < size && !socket.destroyed) {
      await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
      written += chunk.length;
      // Each chunk a turn of the event loop later: a server that closed early has by now.
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.end();
    await closed;
    expect(writtenWhenAnswered).toBe(size);
    expect(writtenWhenClosed).toBe(size);
    expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual(refusal());
  });

  it(`is answered at once past ${OVERSIZED_BODY_READ_FACTOR} times the limit, without reading it`, async () => {
    const server = new URL(s.server.baseUrl);
    const socket = connect(Number(server.port), server.hostname);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n{')) resolve(text);
      });
    });
    socket.on('error', () => {});
    socket.write(
      `POST /v1/agents/${s.acme.agentId}/messages HTTP/1.1\r\nhost: ${server.host}\r\n` +
        `authorization: Bearer ${s.acme.apiKey}\r\ncontent-type: application/json\r\n` +
        `content-length: ${(OVERSIZED_BODY_READ_FACTOR + 1) * limit()}\r\n\r\n`,
    );
    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
    socket.destroy();
  });
});
