import { createServer, request } from 'node:http';

/**
 * The streamed-reply baseline: a bare node:http relay, no framework, no database, no bus.
 * `POST /stream` asks the model (`argv[2]`, an OpenAI-compatible base URL) for a streamed
 * reply and writes each piece of it to its client as an SSE event shaped like the stack's
 * (Letta's `assistant_message`), as it arrives. What the stack adds to a piece is its own
 * figure over this one, same run.
 */
const model = new URL(`${process.argv[2]}/chat/completions`);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const upstream = request(
      model,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (reply) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let buffer = '';
        reply.setEncoding('utf8');
        reply.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const data = buffer.slice(0, end).replace(/^data: /, '');
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            if (data === '[DONE]') continue;
            const content = (JSON.parse(data) as { choices: { delta?: { content?: string } }[] })
              .choices[0]?.delta?.content;
            if (!content) continue;
            res.write(
              `data: ${JSON.stringify({ message_type: 'assistant_message', content, run_id: 'run-bare', seq_id: 1, otid: null })}\n\n`,
            );
          }
        });
        reply.on('end', () => res.end('data: [DONE]\n\n'));
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(JSON.stringify({ model: 'paced', stream: true, messages: [] }));
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
