import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

/**
 * How much more of an oversized body is read, as a multiple of the body limit, before the
 * 413 goes out regardless (16 MiB with the default limit).
 */
export const OVERSIZED_BODY_READ_FACTOR = 16;

/**
 * Answers a body over the limit with a 413 that the client can read. Closing the connection
 * while the client still sends resets it, and a reset throws away the answer on its way
 * (Node's fetch behind a load balancer, browsers): so the rest of the body is read and
 * dropped first, then the 413 goes out with `Connection: close`. The read is bounded, in
 * bytes here and in time by the request timeout (SCOPEKIT_REQUEST_TIMEOUT_SECONDS): a body
 * declared past the bound is answered at once, and one that streams past it is answered
 * there.
 */
export async function answerOversizedBody(request: FastifyRequest, reply: FastifyReply) {
  const limit = request.routeOptions.bodyLimit;
  await readToEnd(request.raw, OVERSIZED_BODY_READ_FACTOR * limit);
  return sendError(
    reply.header('connection', 'close'),
    413,
    `The request body is larger than ${limit} bytes`,
  );
}

/** Drops what is left of a request's body; resolves at its end or once `maxBytes` more came. */
function readToEnd(raw: IncomingMessage, maxBytes: number): Promise<void> {
  if (raw.readableEnded || raw.destroyed || Number(raw.headers['content-length']) > maxBytes)
    return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) done();
    };
    function done() {
      raw.off('data', onData).off('end', done).off('close', done).off('error', done);
      resolve();
    }
    raw.on('data', onData).once('end', done).once('close', done).once('error', done);
    raw.resume();
  });
}
