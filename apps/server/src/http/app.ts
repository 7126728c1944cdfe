import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { TRPCError } from '@trpc/server';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { sql } from 'drizzle-orm';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isWebOrigin } from '../accounts/sessions.js';
import type { TrustProxy } from '../config/trust-proxy.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { ServiceDeps } from '../deps.js';
import { AppError, RetryLaterError } from '../errors.js';
import { refuseUnstorable } from '../lib/parse-input.js';
import { createContextFromHeaders } from '../trpc/context.js';
import { type AppRouter, appRouter } from '../trpc/router.js';
import { bodyLimitFor } from './body-limit.js';
import { handleClientError } from './client-errors.js';
import {
  CREDENTIAL_IN_URL_MESSAGE,
  carriesCredentialInUrl,
  refuseCredentialsInUrl,
} from './credentials-in-url.js';
import { boundDatabaseWaits } from './database-waits.js';
import {
  DATABASE_RETRY_AFTER_SECONDS,
  errorBody,
  handleError,
  handleFrameworkError,
  MAX_PARAM_LENGTH,
  sendError,
} from './errors.js';
import { endLiveStreamsOnClose } from './live-streams.js';
import { REDACTED_PATHS, redactSecrets, serializeError } from './redact.js';
import {
  DEFAULT_REQUEST_TIMEOUTS,
  type RequestTimeouts,
  requestTimeoutOptions,
} from './request-timeouts.js';
import { registerAgentRoutes } from './rest/agents.js';
import { registerBlockRoutes } from './rest/blocks.js';
import { registerClientTokenRoutes } from './rest/client-tokens.js';
import { registerIdentityRoutes } from './rest/identities.js';
import { registerMessageRoutes } from './rest/messages.js';
import { registerModelRoutes } from './rest/models.js';
import { registerOrganizationMessageRoutes } from './rest/organization-messages.js';
import { registerRunRoutes } from './rest/runs.js';
import { registerToolRoutes } from './rest/tools.js';
import { applySecurityHeaders, isApiPath } from './security-headers.js';
import { sessionTransport } from './session-cookie.js';
import { serveEventStreams } from './trpc-event-streams.js';

export interface BuildAppOptions {
  deps: ServiceDeps;
  logLevel?: string;
  /** Largest JSON body accepted, in bytes; by default room for the largest message. */
  bodyLimit?: number;
  /** Where log lines go (stdout by default); tests capture them to search for leaked secrets. */
  logStream?: { write(line: string): void };
  /** The built web app to serve at `/` (apps/web/dist), when it exists. */
  webDist?: string;
  /**
   * Fastify's `trustProxy`: behind a load balancer, the proxies whose `X-Forwarded-For`
   * entries to believe, so per-address limits (failed log-ins) see clients rather than the
   * balancer. Never `true`: that believes the entry the client wrote.
   */
  trustProxy?: TrustProxy | string;
  /** Keep-alive interval of streamed REST answers; tests shorten it to see a ping. */
  streamPingMs?: number;
  /**
   * When set, every request is refused with this message as a 503: the dev server does so
   * while the schema has changes without their migration, rather than fail their queries.
   */
  unavailable?: string;
  /** On PostgreSQL, what finds a frozen database (see DatabaseWatch); requests then get 503. */
  databaseWatch?: { check(): void } | undefined;
  /** How long a request may take to arrive; answered 408 and closed past it. */
  requestTimeouts?: RequestTimeouts;
}

/**
 * The HTTP surface: tRPC under `/trpc`, Letta's REST under `/v1`, `/healthz`. Built without
 * listening so tests and the benchmark can start it on any port.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { deps } = options;
  const arrival = requestTimeoutOptions(options.requestTimeouts ?? DEFAULT_REQUEST_TIMEOUTS);
  const app = Fastify({
    // A request whose headers or body trickle in (or never come) would hold its connection
    // for good: bounded here. Fastify's `connectionTimeout` (an idle socket's) stays off, as
    // it would also cut a quiet answer that is still streaming.
    http: arrival,
    requestTimeout: arrival.requestTimeout,
    // Random, so an id a client quotes from a 500 names one log line across instances.
    genReqId: () => randomUUID(),
    trustProxy: options.trustProxy ?? false,
    logger: {
      level: options.logLevel ?? 'info',
      ...(options.logStream ? { stream: options.logStream } : {}),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        err: serializeError,
        req: (req) => ({ method: req.method, url: redactSecrets(req.url), remoteAddress: req.ip }),
      },
    },
    bodyLimit: options.bodyLimit ?? bodyLimitFor(deps.limits.messageMaxBytes),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: handleClientError,
    frameworkErrors: handleFrameworkError,
  });

  // First of the hooks, so that even a CORS preflight or an early refusal carries them.
  app.addHook('onRequest', async (request, reply) => {
    applySecurityHeaders(
      reply.raw,
      request.url.split('?')[0] ?? '',
      options.deps.accounts.agentApiUrl,
    );
  });
  refuseCredentialsInUrl(app);
  const { unavailable } = options;
  if (unavailable !== undefined) {
    app.addHook('onRequest', async (_request, reply) => sendError(reply, 503, unavailable));
  }
  await app.register(cookie);
  // Bearer routes are called from any origin by the SDK in a browser; the token's own hostname
  // binding decides, so CORS reflects the origin without credentials. Only the web app's own
  // origins (SCOPEKIT_WEB_ORIGINS) may send the session cookie along, and only to the session
  // and admin procedures that read it: agent calls never carry it, split deployment or not.
  const { webOrigins, secureCookies } = deps.accounts;
  await app.register(cors, {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      callback(null, {
        origin: true,
        credentials:
          origin !== undefined &&
          isWebOrigin(webOrigins, origin) &&
          /^\/trpc\/(session|admin)\./.test(request.url),
        // Every method the REST API takes (the plugin's default leaves out PATCH and DELETE,
        // which a token with write_agent may send); requested headers (the SDK's own
        // X-Stainless-*, X-Project, Idempotency-Key…) are reflected.
        methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
        // The SDK in a browser reads these to decide whether and when to retry.
        exposedHeaders: ['retry-after', 'x-should-retry'],
        maxAge: 600,
      });
    },
  });

  endLiveStreamsOnClose(app);
  if (options.databaseWatch) boundDatabaseWaits(app, options.databaseWatch);
  app.setErrorHandler(handleError);
  // Values the database would refuse (a NUL, an unpaired surrogate) are 400s naming the
  // field before any route reads them; tRPC checks its procedures' input itself.
  app.addHook('preValidation', async (request) => {
    if (request.url.startsWith('/trpc/')) return;
    refuseUnstorable(request.params);
    refuseUnstorable(request.query);
    refuseUnstorable(request.body);
  });

  const webDist = options.webDist;
  const servesWeb = webDist !== undefined && existsSync(join(webDist, 'index.html'));
  if (servesWeb) {
    // Hashed asset names change with their content, so they may be cached for good. The web
    // build writes .br and .gz copies; they are sent to clients that accept them. Its
    // sourcemaps are for the build's own checks, not for the public: they are not served.
    await app.register(fastifyStatic, {
      root: webDist,
      wildcard: false,
      preCompressed: true,
      allowedPath: (path) => !/\.map$/i.test(path),
      setHeaders: (reply, path) => {
        reply.header(
          'cache-control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // The web app routes on the client: any other page path gets its index.html.
    if (servesWeb && request.method === 'GET' && !isApiPath(path) && !/\.[a-z0-9]+$/i.test(path)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendError(reply, 404, `No route ${request.method} ${redactSecrets(path)}`);
  });

  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.db.execute(sql`select 1`);
      return { status: 'ok' };
    } catch {
      return reply
        .status(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
        .send(errorBody(503, 'Database unreachable'));
    }
  });

  registerClientTokenRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerMessageRoutes(app, deps, { pingMs: options.streamPingMs });
  registerToolRoutes(app, deps);
  registerIdentityRoutes(app, deps);
  registerOrganizationMessageRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerBlockRoutes(app, deps);

  const createContext = (request: FastifyRequest, reply: FastifyReply) =>
    createContextFromHeaders(
      deps,
      request.headers,
      sessionTransport(request, reply, secureCookies),
    );
  const trpcOptions = {
    router: appRouter,
    createContext: ({ req, res, info }) => {
      if (carriesCredentialInUrl(req.url, info.connectionParams))
        throw new TRPCError({ code: 'UNAUTHORIZED', message: CREDENTIAL_IN_URL_MESSAGE });
      return createContext(req, res);
    },
    // tRPC answers 429 and 503 itself; the Retry-After the REST routes send with them
    // comes from the error: the limit's wait, or a second for an unreachable database.
    responseMeta: ({ errors }) => {
      const limited = errors.find((e) => e.cause instanceof RetryLaterError)?.cause;
      if (limited instanceof RetryLaterError)
        return { headers: new Headers({ 'retry-after': String(limited.retryAfterSeconds) }) };
      if (errors.some((e) => isDatabaseUnavailable(e.cause)))
        return { headers: new Headers({ 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) }) };
      return {};
    },
    onError: ({ error, path, req }) => reportTrpcError({ error, path, log: req.log }),
  } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'];
  await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions });
  // The live conversation: thousands open at once, so served onto the socket (same procedure).
  // Its context writes no cookie (a subscription answers with its head once it has opened,
  // and none of them sets one), and logs through the instance's logger with the request's id
  // rather than the request's own (a pino child is a prototype and shapes of its own, some
  // KB): an open stream holds neither the request, nor its reply, nor its logger.
  serveEventStreams(app, {
    paths: ['messages.events'],
    trpcOptions,
    createContext: (request, reply) => {
      const reqId = request.id;
      return createContextFromHeaders(deps, request.headers, {
        ...sessionTransport(request, reply, secureCookies),
        sessionCookie: undefined,
        log: { warn: (fields, message) => app.log.warn({ reqId, ...fields }, message) },
      });
    },
    onError: reportTrpcError,
  });

  return app;
}

/** What an operator hears of a tRPC failure: the unexpected ones, and an upstream's. */
function reportTrpcError({
  error,
  path,
  log,
}: {
  error: TRPCError;
  path: string | undefined;
  log: FastifyBaseLogger;
}) {
  if (error.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error, path }, 'tRPC error');
  // An upstream's failure (Letta as the agent host): what an operator acts on.
  else if (error.cause instanceof AppError && error.cause.upstream)
    log.warn({ path, upstream: error.cause.upstream }, error.message);
}
