import Letta, { APIConnectionError, APIError } from '@letta-ai/letta-client';
import type { LettaHostConfig } from '../config/letta-host-settings.js';
import { AppError, RateLimitedError, RetryLaterError } from '../errors.js';

/**
 * Start here for SCOPEKIT_AGENT_HOST=letta. The agents live on Letta (Cloud or a
 * self-hosted server) and this server is the "backend" of Letta's client-side token guide:
 * it holds the `sk-let-` key, creates each person's agent there at sign-up
 * (`letta-agents.ts`), mints the browser's `ck-let-` token there and revokes it there
 * (`letta-tokens.ts`). The browser then talks to Letta directly. Nothing here runs in the
 * default mode, where scopekit is its own agent host.
 */
export class LettaHost {
  readonly client: Letta;
  readonly baseUrl: string;

  constructor(config: LettaHostConfig, options: { maxRetries?: number; timeoutMs?: number } = {}) {
    this.baseUrl = config.baseUrl;
    this.client = new Letta({
      apiKey: config.apiKey,
      baseURL: config.baseUrl,
      project: config.project ?? null,
      // One retry: a person is waiting on sign-up and on each token.
      maxRetries: options.maxRetries ?? 1,
      timeout: options.timeoutMs ?? 15_000,
    });
  }

  /**
   * One call to Letta, `what` saying what it was for ("create the agent"). A failure becomes
   * an answer the person and the log can act on: never the upstream's body, never a 500.
   */
  async call<T>(what: string, run: (client: Letta) => Promise<T>): Promise<T> {
    try {
      return await run(this.client);
    } catch (error) {
      throw upstreamError(this.baseUrl, what, error);
    }
  }
}

/** Letta's failure as this server's: 503 unreachable, 429 rate-limited, 502 otherwise. */
export function upstreamError(baseUrl: string, what: string, error: unknown): Error {
  if (error instanceof APIConnectionError) {
    return new RetryLaterError(
      'SERVICE_UNAVAILABLE',
      `The agent host (Letta) cannot be reached, so this server could not ${what}; try again in a moment`,
      30,
      { upstream: `Letta at ${baseUrl} unreachable (${what})` },
    );
  }
  if (!(error instanceof APIError) || error.status === undefined) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const status = error.status;
  const upstream = `Letta at ${baseUrl} answered ${status} (${what})`;
  if (status === 429) {
    const retryAfter = Number(error.headers?.get('retry-after'));
    const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 60;
    return new RateLimitedError(
      `The agent host (Letta) is rate-limiting this server, so it could not ${what}; retry in ${seconds} s`,
      seconds,
      { upstream },
    );
  }
  if (status === 401 || status === 403) {
    return new AppError(
      'BAD_GATEWAY',
      `The agent host (Letta) refused this server's key, so it could not ${what}: the administrator should check LETTA_API_KEY`,
      undefined,
      { upstream },
    );
  }
  return new AppError(
    'BAD_GATEWAY',
    `The agent host (Letta) failed (${status}), so this server could not ${what}`,
    undefined,
    { upstream },
  );
}
