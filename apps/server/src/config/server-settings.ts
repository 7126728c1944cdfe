// The HTTP server: where it listens, what it logs, how it stops, what it serves, whom it
// trusts, how long a request may take to arrive.
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_REQUEST_TIMEOUTS, type RequestTimeouts } from '../http/request-timeouts.js';
import { serverDir } from '../lib/server-dir.js';
import { StartRefusal } from '../start-refusal.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

export const serverSettings = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8283),
  HOST: z.string().default('127.0.0.1'),
  /**
   * Behind a load balancer: the proxies' comma-separated addresses/CIDRs. Off by default: a
   * direct client could forge the header.
   */
  SCOPEKIT_TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'object' && 'error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      }
      return parsed;
    }),
  SCOPEKIT_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  /**
   * How long a stopping server waits for requests in flight (a long model turn) before it
   * exits anyway; under the 30 s an orchestrator usually allows before SIGKILL.
   */
  SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().positive().max(3_600).default(25),
  /**
   * How long a request may take to arrive: its headers, and the whole of it with its body.
   * A client slower than that (or one that stalls) is answered 408; answers, however long
   * they stream, are not timed by these.
   */
  SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .max(3_600)
    .default(DEFAULT_REQUEST_TIMEOUTS.headersMs / 1000),
  SCOPEKIT_REQUEST_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .max(3_600)
    .default(DEFAULT_REQUEST_TIMEOUTS.requestMs / 1000),
  /** The built web app (apps/web/dist) that the server serves when it exists. */
  SCOPEKIT_WEB_DIST: z.string().optional(),
});

export interface ServerConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  trustProxy: TrustProxy;
  logLevel: string;
  shutdownTimeoutMs: number;
  requestTimeouts: RequestTimeouts;
  webDist: string;
}

export function serverConfig(e: z.infer<typeof serverSettings>): ServerConfig {
  if (e.SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS > e.SCOPEKIT_REQUEST_TIMEOUT_SECONDS) {
    throw new StartRefusal(
      'Invalid configuration: SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS must not exceed SCOPEKIT_REQUEST_TIMEOUT_SECONDS (the headers are part of the request)',
    );
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.SCOPEKIT_TRUST_PROXY,
    logLevel: e.SCOPEKIT_LOG_LEVEL,
    shutdownTimeoutMs: e.SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    requestTimeouts: {
      headersMs: e.SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: e.SCOPEKIT_REQUEST_TIMEOUT_SECONDS * 1000,
    },
    webDist: e.SCOPEKIT_WEB_DIST ?? join(serverDir, '../web/dist'),
  };
}
