import type { FastifyInstance } from 'fastify';

/** How long a request waits before the database is asked whether it still answers. */
const PATIENCE_MS = 2_000;

/**
 * Bounds how long a request waits on a frozen database: while one goes unanswered, every
 * 2 s it has the watch check the database (one probe at a time for the whole instance, see
 * DatabaseWatch), which cuts the pool's connections if the database does not answer, and the
 * request's query fails with a 503. An answer begun (a stream) is not watched.
 */
export function boundDatabaseWaits(app: FastifyInstance, watch: { check(): void }) {
  app.addHook('onRequest', async (_request, reply) => {
    const waiting = setInterval(() => {
      if (reply.raw.headersSent) clearInterval(waiting);
      else watch.check();
    }, PATIENCE_MS);
    waiting.unref();
    reply.raw.once('close', () => clearInterval(waiting));
  });
}
