import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { trpcServer } from '@hono/trpc-server';
import { initTRPC } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import Fastify from 'fastify';
import { Hono } from 'hono';

/**
 * One server per kind, each run in its own child process by frameworks.ts: hello-world JSON
 * on each framework, and the same trivial tRPC query (`/trpc/hello`) through each one's
 * tRPC adapter, since tRPC is what the server actually serves.
 */
const kind = process.argv[2];
const body = { hello: 'world' };

const t = initTRPC.create();
const router = t.router({ hello: t.procedure.query(() => body) });

const ready = (port: number) => process.send?.({ port });
const portOf = (address: ReturnType<ReturnType<typeof createServer>['address']>) =>
  typeof address === 'object' && address ? address.port : 0;

if (kind === 'node') {
  const json = JSON.stringify(body);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(json);
  });
  server.listen(0, '127.0.0.1', () => ready(portOf(server.address())));
} else if (kind === 'fastify') {
  const app = Fastify();
  app.get('/', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  ready(portOf(app.server.address()));
} else if (kind === 'hono') {
  const app = new Hono();
  app.get('/', (c) => c.json(body));
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ready(info.port));
} else if (kind === 'trpc-node') {
  const server = createHTTPServer({ router, basePath: '/trpc/' });
  server.listen(0, '127.0.0.1', () => ready(portOf(server.address())));
} else if (kind === 'trpc-fastify') {
  const app = Fastify();
  await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  ready(portOf(app.server.address()));
} else if (kind === 'trpc-hono') {
  const app = new Hono();
  app.use('/trpc/*', trpcServer({ router }));
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ready(info.port));
} else {
  throw new Error(`unknown server kind ${kind}`);
}
