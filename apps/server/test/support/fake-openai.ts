import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChatRequest {
  model: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages: {
    role: string;
    content: string | null;
    tool_calls?: { id: string; function: { name: string; arguments: string } }[];
    tool_call_id?: string;
  }[];
  tools?: {
    type: 'function';
    function: { name: string; description: string; parameters: Record<string, unknown> };
  }[];
}

/** A scripted answer: text, tool calls (arguments as the model's JSON text), reasoning. */
export interface ScriptedAnswer {
  content?: string;
  toolCalls?: { name: string; arguments: string }[];
  reasoning?: string;
}

const echo = (request: ChatRequest) => `echo: ${request.messages.at(-1)?.content ?? ''}`;

/**
 * What a streamed reply `does` after its first `after` pieces: `stall` keeps the connection
 * open and sends nothing more, `error` sends an error event as OpenAI does mid-stream, `cut`
 * drops the connection.
 */
export interface MidStream {
  after: number;
  does: 'stall' | 'error' | 'cut';
}

/**
 * A real OpenAI-compatible Chat Completions server on loopback: it answers with
 * `reply(request)`, streamed in the wire format the `openai` client parses, or fails with the
 * status given. Tests point the openai runtime at it since no hosted model is reachable here.
 */
export class FakeOpenAI {
  readonly requests: ChatRequest[] = [];
  /** The headers of each request, in the same order. */
  readonly headers: IncomingHttpHeaders[] = [];
  /** Streamed replies whose client went away before the reply ended. */
  abandoned = 0;
  failWith: { status: number; message: string } | undefined;
  /** Answer 400 to a request with `stream_options`, as some compatible servers do. */
  refusesStreamOptions = false;
  midStream: MidStream | undefined;
  /** Pause before each piece of a streamed reply, or before a whole one. */
  pieceDelayMs = 0;
  reply: (request: ChatRequest) => string | ScriptedAnswer = echo;
  /** What `GET /v1/models` lists; undefined answers 404, as servers without the route do. */
  models: string[] | undefined;
  #calls = 0;

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

  reset() {
    this.requests.length = 0;
    this.headers.length = 0;
    this.abandoned = 0;
    this.failWith = undefined;
    this.midStream = undefined;
    this.pieceDelayMs = 0;
    this.refusesStreamOptions = false;
    this.reply = echo;
    this.models = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method === 'GET' && req.url === '/v1/models' && this.models) {
      const data = this.models.map((id) => ({ id, object: 'model', created: 1, owned_by: 'x' }));
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data }));
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'not found' } }));
    }
    const request = JSON.parse(raw) as ChatRequest;
    this.requests.push(request);
    this.headers.push(req.headers);
    const failure =
      this.failWith ??
      (this.refusesStreamOptions && request.stream_options
        ? { status: 400, message: 'Unrecognized request argument supplied: stream_options' }
        : undefined);
    if (failure) {
      res.writeHead(failure.status, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: failure.message, type: 'server_error' } }));
    }
    const scripted = this.reply(request);
    const answer: ScriptedAnswer = typeof scripted === 'string' ? { content: scripted } : scripted;
    const text = answer.content ?? '';
    const toolCalls = (answer.toolCalls ?? []).map((c) => ({
      id: `call_${++this.#calls}`,
      type: 'function' as const,
      function: c,
    }));
    const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
    const base = { id: 'chatcmpl-1', created: 1, model: request.model };
    if (!request.stream) {
      if (this.pieceDelayMs > 0) await sleep(this.pieceDelayMs);
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
              message: {
                role: 'assistant',
                content: answer.content ?? null,
                ...(answer.reasoning && { reasoning_content: answer.reasoning }),
                ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
              },
            },
          ],
          usage,
        }),
      );
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.on('close', () => {
      if (!res.writableFinished) this.abandoned += 1;
    });
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const { midStream, pieceDelayMs } = this;
    const delta = (d: object) =>
      send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: d }] });
    if (answer.reasoning) delta({ reasoning_content: answer.reasoning });
    for (const [index, piece] of (text.match(/.{1,4}/gs) ?? []).entries()) {
      if (midStream?.after === index) {
        if (midStream.does === 'cut') {
          // Only once what was written has left: the client is mid-reply, not mid-request.
          await new Promise<void>((resolve) => res.write('', () => resolve()));
          return res.destroy();
        }
        // Held open until the client gives up or the server closes.
        if (midStream.does === 'stall') return;
        send({ error: { message: 'The server had an error while processing your request.' } });
        return res.end();
      }
      if (pieceDelayMs > 0) await sleep(pieceDelayMs);
      if (res.destroyed) return;
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece } }],
      });
    }
    // Each call as OpenAI streams one: id and name first, the arguments split across chunks.
    for (const [index, call] of toolCalls.entries()) {
      delta({
        tool_calls: [
          {
            index,
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: '' },
          },
        ],
      });
      for (const piece of call.function.arguments.match(/.{1,3}/gs) ?? []) {
        delta({ tool_calls: [{ index, function: { arguments: piece } }] });
      }
    }
    send({
      ...base,
      object: 'chat.completion.chunk',
      choices: [
        { index: 0, delta: {}, finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop' },
      ],
    });
    send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    res.end('data: [DONE]\n\n');
  }

  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
