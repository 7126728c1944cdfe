import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: { role: string; content: string }[];
}

/**
 * A real OpenAI-compatible Chat Completions server on loopback: it answers with
 * `reply(request)`, streamed in the wire format the `openai` client parses, or fails with the
 * status given. Tests point the openai runtime at it since no hosted model is reachable here.
 */
export class FakeOpenAI {
  readonly requests: ChatRequest[] = [];
  failWith: { status: number; message: string } | undefined;
  reply: (request: ChatRequest) => string = (r) => `echo: ${r.messages.at(-1)?.content ?? ''}`;

  private constructor(
    private readonly server: Server,
    readonly baseURL: string,
  ) {}

  static async start(): Promise<FakeOpenAI> {
    let fake: FakeOpenAI | undefined;
    const server = createServer((req, res) => {
      if (!fake) return res.destroy();
      void fake.handle(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    fake = new FakeOpenAI(server, `http://127.0.0.1:${port}/v1`);
    return fake;
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'not found' } }));
    }
    const request = JSON.parse(raw) as ChatRequest;
    this.requests.push(request);
    if (this.failWith) {
      res.writeHead(this.failWith.status, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({ error: { message: this.failWith.message, type: 'server_error' } }),
      );
    }
    const text = this.reply(request);
    const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
    const base = { id: 'chatcmpl-1', created: 1, model: request.model };
    if (!request.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [
            { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } },
          ],
          usage,
        }),
      );
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    for (const piece of text.match(/.{1,4}/gs) ?? []) {
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece } }],
      });
    }
    send({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
    });
    send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    res.end('data: [DONE]\n\n');
  }

  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
