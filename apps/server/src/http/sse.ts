import type { FastifyReply } from 'fastify';

/** Letta's keep-alive, and tRPC's: clients ignore pings, proxies see traffic. */
export const PING_MS = 15_000;

/**
 * A `text/event-stream` answer in the shape the Letta SDK parses: `data: <json>` chunks with
 * no event name, `event: error` for a failure, and `data: [DONE]` last. Headers already set
 * on the reply (CORS, security) are kept.
 */
export function openEventStream(reply: FastifyReply, pingMs = PING_MS) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store, no-transform',
    connection: 'keep-alive',
    // Tell nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  // Node holds the head back until the first write, a ping away: the client would wait that
  // long to hear that its stream is open.
  raw.flushHeaders();
  const ping = setInterval(() => {
    if (!raw.writableEnded) raw.write(`data: ${JSON.stringify({ message_type: 'ping' })}\n\n`);
  }, pingMs);
  ping.unref();
  return {
    data(payload: unknown) {
      if (!raw.writableEnded) raw.write(`data: ${JSON.stringify(payload)}\n\n`);
    },
    error(payload: unknown) {
      if (!raw.writableEnded) raw.write(`event: error\ndata: ${JSON.stringify(payload)}\n\n`);
    },
    done() {
      clearInterval(ping);
      if (!raw.writableEnded) raw.end('data: [DONE]\n\n');
    },
  };
}
