import type { FastifyReply } from 'fastify';

/** Aborts if the client closes the connection before its answer is complete. */
export function untilClientGone(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  // The client may have left while its request was still being read.
  if (reply.raw.destroyed || reply.raw.socket?.destroyed) gone.abort();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}
