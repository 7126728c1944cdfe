import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * Live event streams never finish on their own, so a graceful shutdown would wait for them
 * forever. When the server starts closing, each one's connection is cut: the browser's
 * EventSource (and tRPC's client) then reconnects, through the load balancer, to another
 * instance, resuming from its last event id. Ordinary requests in flight, streamed sends
 * included, are left to finish.
 */
export function endLiveStreamsOnClose(app: FastifyInstance) {
  const open = new Set<IncomingMessage>();
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'GET' || !request.headers.accept?.includes('text/event-stream')) return;
    const raw = request.raw;
    open.add(raw);
    raw.once('close', () => open.delete(raw));
  });
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    for (const raw of open) raw.socket.destroy();
    open.clear();
    // Node closes idle keep-alive connections only once, when close begins; a request that
    // finishes later leaves its connection idle and would hold the close open. Sweep them.
    sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
}
