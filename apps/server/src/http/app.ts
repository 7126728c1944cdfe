import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { RateLimitedError } from '../errors.js';
import type { ServiceDeps } from '../services/deps.js';
import { createContextFromHeaders } from '../trpc/context.js';
import { type AppRouter, appRouter } from '../trpc/router.js';
import { handleClientError } from './client-errors.js';
import { errorBody, handleError, sendError } from './errors.js';
import { endLiveStreamsOnClose } from './live-streams.js';
import { REDACTED_PATHS, redactSecrets } from './redact.js';
import { registerAgentRoutes } from './rest/agents.js';
import { registerClientTokenRoutes } from './rest/client-tokens.js';
import { registerMessageRoutes } from './rest/messages.js';

export interface BuildAppOptions {
  deps: ServiceDeps;
  logLevel?: string;
  /** Largest JSON body accepted, in bytes. */
  bodyLimit?: number;
  /** Where log lines go (stdout by default); tests capture them to search for leaked secrets. */
  logStream?: { write(line: string): void };
}

/**
 * The HTTP surface: tRPC under `/trpc`, Letta's REST under `/v1`, `/healthz`. Built without
 * listening so tests and the benchmark can start it on any port.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { deps } = options;
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      ...(options.logStream ? { stream: options.logStream } : {}),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req) => ({ method: req.method, url: redactSecrets(req.url), remoteAddress: req.ip }),
      },
    },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    clientErrorHandler: handleClientError,
  });

  await app.register(helmet, { contentSecurityPolicy: false });
  // Bearer routes are called from any allowed origin by the SDK in a browser; the token's own
  // hostname binding decides, so CORS reflects the origin but never allows credentials here.
  await app.register(cors, {
    origin: true,
    credentials: false,
    exposedHeaders: ['retry-after'],
    maxAge: 600,
  });

  endLiveStreamsOnClose(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      `No route ${request.method} ${redactSecrets(request.url.split('?')[0] ?? '')}`,
    ),
  );

  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.db.execute(sql`select 1`);
      return { status: 'ok' };
    } catch {
      return reply.status(503).send(errorBody(503, 'Database unreachable'));
    }
  });

  registerClientTokenRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerMessageRoutes(app, deps);

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req, info }) =>
        createContextFromHeaders(deps, req.headers, info.connectionParams),
      // tRPC answers 429 itself; the Retry-After header it cannot know comes from the error.
      responseMeta: ({ errors }) => {
        const limited = errors.find((e) => e.cause instanceof RateLimitedError)?.cause;
        return limited instanceof RateLimitedError
          ? { headers: new Headers({ 'retry-after': String(limited.retryAfterSeconds) }) }
          : {};
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          app.log.error({ err: error, path }, 'tRPC error');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  return app;
}
