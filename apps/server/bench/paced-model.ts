import { createServer, type ServerResponse } from 'node:http';

/**
 * The fake model of the streamed-reply step, in its own process: an OpenAI-compatible Chat
 * Completions endpoint on loopback whose streamed reply is `pieces` pieces, one every
 * `paceMs`, each piece's text its own send time (`@<ms since the epoch>#`, on the clock all
 * processes share), so whoever receives it downstream can tell how long it took. The test
 * suite's fake (test/support/fake-openai.ts) scripts its text up front; this one writes the
 * time at the moment each piece leaves.
 */
const { pieces, paceMs } = JSON.parse(process.argv[2] ?? '{}') as {
  pieces: number;
  paceMs: number;
};
const wallNow = () => performance.timeOrigin + performance.now();
const base = { id: 'chatcmpl-bench', created: 1, model: 'paced' };

function stream(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  const chunk = (delta: object, finish: string | null = null) =>
    send({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  chunk({ role: 'assistant', content: '' });
  let sent = 0;
  // Each piece at its own time on the pace from the start, so a late timer is not carried on.
  const started = performance.now();
  const next = () => {
    if (res.destroyed) return;
    if (sent === pieces) {
      chunk({}, 'stop');
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: pieces, total_tokens: 10 + pieces },
      });
      res.end('data: [DONE]\n\n');
      return;
    }
    chunk({ content: `@${wallNow().toFixed(3)}# ` });
    sent++;
    setTimeout(next, Math.max(0, started + (sent + 1) * paceMs - performance.now()));
  };
  setTimeout(next, paceMs);
}

const server = createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk: Buffer) => {
    raw += chunk;
  });
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: 'paced', object: 'model' }] }));
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'not found' } }));
    }
    const request = JSON.parse(raw) as { stream?: boolean };
    if (!request.stream) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'this model only streams' } }));
    }
    stream(res);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
