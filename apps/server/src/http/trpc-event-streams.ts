import type { ServerResponse } from 'node:http';
import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  isTrackedEnvelope,
  type TRPCError,
} from '@trpc/server';
import { type FastifyHandlerOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { carriesCredentialInUrl } from './credentials-in-url.js';
import {
  CONNECTED_FRAME,
  dataFrame,
  errorFrame,
  PING_FRAME,
  RETURN_FRAME,
} from './event-stream-frames.js';
import { PING_MS } from './sse.js';

/** tRPC's SSE answer headers (its `sseHeaders`). */
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

export interface EventStreamOptions<TRouter extends AnyTRPCRouter, TContext> {
  /** Subscription paths served this way, such as `messages.events`. */
  paths: string[];
  /** The options tRPC's own handler is given: what this path does not serve goes to it. */
  trpcOptions: FastifyHandlerOptions<TRouter, FastifyRequest, FastifyReply>;
  /** The procedure's context, as tRPC's `createContext` builds it (no connection params). */
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext;
  /** Reports a failure (tRPC's `onError` is given the request; this, its logger). */
  onError?: (failure: { error: TRPCError; path: string; log: FastifyBaseLogger }) => void;
  pingMs?: number;
}

/**
 * Subscriptions over SSE (`GET /trpc/<path>`, tRPC's `httpSubscriptionLink`) served straight
 * onto the Node response, in tRPC's wire format, for what a live stream costs when thousands
 * are open: tRPC's own handler turns each into a fetch `Request`, a `Response` and a chain of
 * web streams, with a ping timer and a JSON serialization of every event per stream. Here a
 * stream is its socket, the procedure's iterator and a place in one shared ping; an event
 * every subscriber shares is serialized once (see `dataFrame`).
 *
 * The procedure itself is tRPC's, called as tRPC calls it (its middleware checks the
 * credential, limits and grants; its resolver opens the stream), so what a stream allows
 * and refuses is written once, in the router. Requests this path does not take as they come
 * (a batch, connection params, a credential in the URL, input that is not JSON, HEAD) go to
 * tRPC's handler unchanged.
 */
export function serveEventStreams<TRouter extends AnyTRPCRouter, TContext>(
  app: FastifyInstance,
  options: EventStreamOptions<TRouter, TContext>,
) {
  const { trpcOptions } = options;
  const router = trpcOptions.router;
  const streams = new Set<ServerResponse>();
  let ping: NodeJS.Timeout | undefined;
  // One timer for every stream rather than one each: a ping every interval, quiet or not.
  const startPing = () => {
    ping ??= setInterval(() => {
      for (const raw of streams) if (!raw.destroyed && !raw.writableEnded) raw.write(PING_FRAME);
    }, options.pingMs ?? PING_MS);
    ping.unref();
  };
  const forget = (raw: ServerResponse) => {
    streams.delete(raw);
    if (streams.size === 0) {
      clearInterval(ping);
      ping = undefined;
    }
  };

  for (const path of options.paths) {
    app.get(`/trpc/${path}`, { exposeHeadRoute: false }, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const input = parseInput(query.input);
      if (
        query.batch !== undefined ||
        query.connectionParams !== undefined ||
        input === NOT_JSON ||
        carriesCredentialInUrl(request.url)
      ) {
        return fastifyRequestHandler({ ...trpcOptions, req: request, res: reply, path });
      }
      await open(request, reply, path, input);
    });
  }

  /** Calls the procedure and answers its head; `pump` then writes what it yields. */
  async function open(request: FastifyRequest, reply: FastifyReply, path: string, input: unknown) {
    // The answer is written here, on the socket, not through Fastify's reply.
    reply.hijack();
    const raw = reply.raw;
    const query = request.query as Record<string, string | undefined>;
    const lastEventId =
      firstOf(request.headers['last-event-id']) ??
      query.lastEventId ??
      query['Last-Event-Id'] ??
      null;
    const rawInput =
      lastEventId === null
        ? input
        : typeof input === 'object' && input !== null
          ? { ...input, lastEventId }
          : (input ?? { lastEventId });
    const gone = new AbortController();
    const onClose = () => gone.abort();
    raw.once('close', onClose);

    let ctx: TContext | undefined;
    let iterable: unknown;
    let failure: unknown;
    try {
      ctx = options.createContext(request, reply);
      iterable = await callTRPCProcedure({
        router,
        path,
        getRawInput: async () => rawInput,
        ctx,
        type: 'subscription',
        signal: gone.signal,
        batchIndex: 0,
      });
    } catch (cause) {
      failure = cause ?? new Error('failed');
    }
    raw.off('close', onClose);
    if (raw.destroyed) {
      // Gone while it opened: the procedure's signal let its resources go; its generator,
      // never started, is closed.
      gone.abort();
      await (iterable as AsyncGenerator | undefined)?.return?.(undefined);
      return;
    }
    // As tRPC answers a subscription: 200 and `connected` once the procedure has returned
    // (the stream listens by then), and a refusal as the stream's first event after it.
    raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
    raw.write(CONNECTED_FRAME);
    flattenHead(raw);
    dropHeaderTable(raw);
    releaseReply(raw);
    // Not the request's logger, which a stream would hold for its life (a pino child is its own
    // prototype and shapes, some KB): the instance's, with the request id, when one fails.
    const fail = failWith(raw, { path, input, ctx, reqId: request.id });
    if (failure !== undefined) return fail(failure);
    const trackedId = lastEventId !== null && !/[\0\n\r]/.test(lastEventId) ? lastEventId : null;
    // Not awaited: the request, its reply and this function's scope go once the stream is
    // open; what a stream holds from here on is its socket and the procedure's iterator.
    void pump(raw, (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator](), {
      trackedId,
      gone,
      fail,
    });
  }

  /** Writes the frame of each value the procedure yields, until it ends or the client goes. */
  async function pump(
    raw: ServerResponse,
    iterator: AsyncIterator<unknown>,
    state: { trackedId: string | null; gone: AbortController; fail: (cause: unknown) => void },
  ) {
    const onClose = () => state.gone.abort();
    raw.once('close', onClose);
    streams.add(raw);
    startPing();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || raw.destroyed) break;
        const bytes = dataFrame(next.value, state.trackedId);
        if (isTrackedEnvelope(next.value)) state.trackedId = next.value[0];
        // A reader that does not keep up makes the procedure buffer (and give up past its
        // limit), not this socket.
        if (!raw.write(bytes)) await drained(raw);
      }
      if (!raw.destroyed) raw.end(RETURN_FRAME);
    } catch (cause) {
      if (!raw.destroyed) state.fail(cause);
    } finally {
      forget(raw);
      raw.off('close', onClose);
      if (raw.destroyed) await iterator.return?.();
    }
  }

  /** Ends a stream with the failure as tRPC formats it, reported as tRPC reports it. */
  function failWith(
    raw: ServerResponse,
    call: { path: string; input: unknown; ctx: TContext | undefined; reqId: string },
  ) {
    return (cause: unknown) => {
      const error = getTRPCErrorFromUnknown(cause);
      const { path, input, ctx, reqId } = call;
      options.onError?.({ error, path, log: app.log.child({ reqId }) });
      const shape = getTRPCErrorShape({
        config: router._def._config,
        ctx,
        error,
        input,
        path,
        type: 'subscription',
      });
      raw.end(errorFrame(shape));
    };
  }
}

/**
 * Node keeps the head it sent (`_header`) for the response's life, as the string it was
 * built into a piece at a time: a rope of some sixty pieces, 2 KB a stream. A flat copy
 * of it replaces the rope, and the pieces go. (Searching the rope would make V8 flatten it
 * in place, but only until the optimizing compiler drops a search whose result is unused:
 * measured, two streams in three kept their rope.) Node writes the head as latin1 and
 * refuses any other character in a header, so the copy is the same string.
 */
function flattenHead(raw: ServerResponse) {
  const response = raw as ServerResponse & { _header?: unknown };
  if (typeof response._header === 'string')
    response._header = Buffer.from(response._header, 'latin1').toString('latin1');
}

/**
 * The headers set on the response before its head was written (the security headers are
 * set on every response as it arrives) stay in Node's table of them for the response's
 * life, some 0.8 KB a stream, though the head they went into is sent. Node starts every
 * response with no table (null); a sent head needs none.
 */
function dropHeaderTable(raw: ServerResponse) {
  const table = Object.getOwnPropertySymbols(raw).find((key) => key.description === 'kOutHeaders');
  if (table) (raw as unknown as Record<symbol, unknown>)[table] = null;
}

/**
 * Fastify listens for the end of every response to log it and run `onResponse` hooks, and
 * those listeners hold the request, the reply and their logger for as long as the response
 * lasts: hours, for a live stream. A hijacked reply has neither log line nor hooks to run
 * (Fastify skips them), so its listeners are let go once the stream is open.
 */
function releaseReply(raw: ServerResponse) {
  for (const event of ['finish', 'error'] as const)
    for (const listener of raw.listeners(event))
      if (listener.name === 'onResFinished') raw.off(event, listener as () => void);
}

const NOT_JSON = Symbol('input is not JSON');

/** tRPC's GET input: JSON in `input`, or none. */
function parseInput(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

const firstOf = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function drained(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
