import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import type { ServiceDeps } from './deps.js';

export interface SweepOptions {
  /**
   * How long an expired or revoked token is kept: until then a request with it is told
   * why it fails ("expired at …", "revoked") rather than just "invalid".
   */
  retainMs: number;
  /** Rows per DELETE, so a large backlog never holds many locks for long. */
  batchSize?: number;
}

export interface SweepResult {
  deletedTokens: number;
}

/**
 * Deletes client-side tokens that expired or were revoked more than `retainMs` ago, and
 * rate-limit windows that ended as long ago. Safe to run on several instances at once:
 * each batch takes its rows with `FOR UPDATE SKIP LOCKED`, so concurrent sweeps split the
 * work instead of waiting on each other, and a row is deleted once.
 */
export async function sweepExpiredTokens(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'rateLimiter'>,
  options: SweepOptions,
): Promise<SweepResult> {
  const cutoff = new Date(deps.now().getTime() - options.retainMs);
  const batchSize = options.batchSize ?? 1000;
  let deletedTokens = 0;
  // Two conditions, two statements: each walks its own index.
  for (const column of ['expires_at', 'revoked_at'] as const) {
    for (;;) {
      const deleted = await deleteBatch(deps.db, column, cutoff, batchSize);
      deletedTokens += deleted;
      if (deleted < batchSize) break;
    }
  }
  // Counters keep their own retention: a short token retention must not reset an hourly limit.
  await deps.rateLimiter.sweep();
  return { deletedTokens };
}

async function deleteBatch(
  db: Database,
  column: 'expires_at' | 'revoked_at',
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  const result = await db.execute(sql`
    delete from client_tokens where id in (
      select id from client_tokens where ${sql.identifier(column)} < ${cutoff.toISOString()}::timestamptz
      limit ${batchSize} for update skip locked)
    returning id`);
  return rowsOf(result).length;
}

/** Runs `sweepExpiredTokens` every `intervalMs`, give or take a random tenth so instances spread out. */
export class TokenSweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'db' | 'now' | 'rateLimiter'>,
    private readonly options: SweepOptions & {
      intervalMs: number;
      onError?: (error: unknown) => void;
    },
  ) {
    this.#schedule();
  }

  #schedule() {
    if (this.#stopped) return;
    const { intervalMs } = this.options;
    const delay = intervalMs * (0.9 + Math.random() * 0.2);
    this.#timer = setTimeout(() => {
      this.#running = sweepExpiredTokens(this.deps, this.options)
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
