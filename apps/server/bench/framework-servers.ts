import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import Fastify from 'fastify';
import { Hono } from 'hono';

/** One hello-world JSON server per framework, each run in its own child process by frameworks.ts. */
const kind = process.argv[2];
const body = { hello: 'world' };

if (kind === 'node') {
  const json = JSON.stringify(body);
  createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(json);
  }).listen(0, '127.0.0.1', function (this: ReturnType<typeof createServer>) {
    const address = this.address();
    process.send?.(typeof address === 'object' && address ? address.port : 0);
  });
} else if (kind === 'fastify') {
  const app = Fastify();
  app.get('/', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send?.(typeof address === 'object' && address ? address.port : 0);
} else if (kind === 'hono') {
  const app = new Hono();
  app.get('/', (c) => c.json(body));
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.(info.port));
} else {
  throw new Error(`unknown framework ${kind}`);
}
