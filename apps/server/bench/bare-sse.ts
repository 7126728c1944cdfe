import { createServer, type ServerResponse } from 'node:http';
import { settledMemory } from './settled-memory.js';

/**
 * The fan-out baseline: a bare node:http SSE server, no framework, no database, no bus.
 * `GET /events` opens a stream; `POST /send` writes its body, serialized once, to every open
 * stream. With `?c=<name>` on both, streams and sends are per channel (a conversation).
 * What the stack adds to a delivery is its own figure over this one, same run.
 */
const channels = new Map<string, Set<ServerResponse>>();
const server = createServer((req, res) => {
  const channel = new URL(req.url ?? '/', 'http://bare').searchParams.get('c') ?? '';
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': open\n\n');
    let streams = channels.get(channel);
    if (!streams) {
      streams = new Set();
      channels.set(channel, streams);
    }
    streams.add(res);
    req.once('close', () => streams.delete(res));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const event = `data: ${Buffer.concat(chunks).toString()}\n\n`;
    for (const stream of channels.get(channel) ?? []) stream.write(event);
    res.writeHead(204).end();
  });
});
// The floor under a stream's memory, asked as of an instance (forked with --expose-gc).
process.on('message', async (message) => {
  if (message === 'memory') process.send?.({ memory: await settledMemory() });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.(typeof address === 'object' && address ? address.port : 0);
});
