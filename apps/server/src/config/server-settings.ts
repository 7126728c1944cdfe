// The HTTP server: where it listens, what it logs, how it stops, what it serves, whom it trusts.
import { z } from 'zod';
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
  webDist: string;
}

export function serverConfig(e: z.infer<typeof serverSettings>): ServerConfig {
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.SCOPEKIT_TRUST_PROXY,
    logLevel: e.SCOPEKIT_LOG_LEVEL,
    shutdownTimeoutMs: e.SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    webDist: e.SCOPEKIT_WEB_DIST ?? new URL('../../../web/dist', import.meta.url).pathname,
  };
}
