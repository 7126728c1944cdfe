import { createServer, type ServerResponse } from 'node:http';
import { settledMemory } from './settled-memory.js';

/**
 * The fan-out baseline: a bare node:http SSE server, no framework, no database, no bus.
 * `GET /events` opens a stream; `POST /send` writes its body, serialized once, to every open
 * stream. With `?c=<name>` on both, streams and sends are per channel (a conversation).
 * With `&pieces=<n>&paceMs=<ms>`, the send is answered as the stack answers one: n reply
 * pieces a pace apart, then the whole reply and a stop, each shaped and sized like the
 * stack's events and serialized once for the channel. What the stack adds to a delivery is
 * its own figure over this one, same run.
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
    send(channel, `data: ${Buffer.concat(chunks).toString()}\n\n`);
    res.writeHead(204).end();
    const search = new URL(req.url ?? '/', 'http://bare').searchParams;
    const pieces = Number(search.get('pieces') ?? 0);
    if (pieces > 0) reply(channel, pieces, Number(search.get('paceMs') ?? 0));
  });
});

function send(channel: string, event: string) {
  for (const stream of channels.get(channel) ?? []) stream.write(event);
}

/** A reply as the stack streams one to a conversation: its pieces, the whole, its stop. */
function reply(channel: string, pieces: number, paceMs: number) {
  const runId = `run-${channel.padStart(24, '0')}`;
  const messageId = `message-${channel.padStart(24, '0')}`;
  let index = 0;
  const next = () => {
    if (index < pieces) {
      send(
        channel,
        `id: 41:${runId}:${index}\ndata: ${JSON.stringify({ type: 'delta', messageId, runId, text: 'word ', index, afterSeq: 41 })}\n\n`,
      );
      index++;
      setTimeout(next, paceMs);
      return;
    }
    const content = 'word '.repeat(pieces);
    send(
      channel,
      `id: 42\ndata: ${JSON.stringify({ type: 'message', message: { id: messageId, date: new Date().toISOString(), message_type: 'assistant_message', content, otid: null, sender_id: null, run_id: runId, seq_id: 42 } })}\n\n`,
    );
    send(
      channel,
      `id: 42:${runId}:stop\ndata: ${JSON.stringify({ type: 'stop', runId, stopReason: 'end_turn', afterSeq: 42 })}\n\n`,
    );
  };
  setTimeout(next, paceMs);
}
// The floor under a stream's memory, asked as of an instance (forked with --expose-gc).
process.on('message', async (message) => {
  if (message === 'memory') process.send?.({ memory: await settledMemory() });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
